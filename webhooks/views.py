from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.db import on_a_live_connection
from core.http import client_ip, request_content_length
from webhooks.models import Provider
from webhooks.services import (
    ReceiveResult,
    webhook_receive_mdi,
    webhook_receive_stripe,
    webhook_refuse_too_large,
)

MAX_BODY_BYTES = 1024 * 1024
RESPONSE_TEXT = {200: "ok", 400: "bad request", 413: "too large"}


@csrf_exempt  # authenticated by MDI's Authorization header and body signature instead
@require_POST
def mdi(request: HttpRequest) -> HttpResponse:
    return _receive(request, Provider.MDI, webhook_receive_mdi)


@csrf_exempt  # authenticated by the Stripe-Signature header instead
@require_POST
def stripe(request: HttpRequest) -> HttpResponse:
    return _receive(request, Provider.STRIPE, webhook_receive_stripe)


def _receive(
    request: HttpRequest, provider: str, receive: Callable[..., ReceiveResult]
) -> HttpResponse:
    length = request_content_length(request)
    if length is None:  # normally refused earlier by core.middleware.ContentLengthMiddleware
        return _answer(400)
    headers = dict(request.headers)
    sender_ip = client_ip(request)
    if length > MAX_BODY_BYTES:
        result = webhook_refuse_too_large(
            provider=provider, headers=headers, client_ip=sender_ip, body_size=length
        )
        return _answer(result.status_code)
    body = request.body  # the raw bytes, before anything parses them: the signature covers these
    # A connection the database closed must not become a 500 that MDI retries for hours: the
    # receipt is one idempotent statement, so it is simply run again on a new connection.
    result = on_a_live_connection(lambda: receive(body=body, headers=headers, client_ip=sender_ip))
    return _answer(result.status_code)


def _answer(status: int) -> HttpResponse:
    return HttpResponse(
        RESPONSE_TEXT.get(status, "unauthorized"), status=status, content_type="text/plain"
    )
