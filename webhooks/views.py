from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from webhooks.services import ReceiveResult, webhook_receive_mdi, webhook_receive_stripe

MAX_BODY_BYTES = 1024 * 1024


@csrf_exempt  # authenticated by MDI's Authorization header and body signature instead
@require_POST
def mdi(request: HttpRequest) -> HttpResponse:
    return _receive(request, webhook_receive_mdi)


@csrf_exempt  # authenticated by the Stripe-Signature header instead
@require_POST
def stripe(request: HttpRequest) -> HttpResponse:
    return _receive(request, webhook_receive_stripe)


def _receive(request: HttpRequest, receive: Callable[..., ReceiveResult]) -> HttpResponse:
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
        return HttpResponse("too large", status=413, content_type="text/plain")
    body = request.body  # the raw bytes, before anything parses them: the signature covers these
    result = receive(
        body=body, headers=dict(request.headers), client_ip=request.META.get("REMOTE_ADDR")
    )
    text = "ok" if result.status_code == 200 else "unauthorized"
    return HttpResponse(text, status=result.status_code, content_type="text/plain")
