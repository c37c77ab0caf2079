import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.cache import add_never_cache_headers, patch_cache_control

from core.http import request_content_length

security_logger = logging.getLogger("security")


class ContentLengthMiddleware:
    """A Content-Length that is not a plain number is a 400 before anything reads the body:
    Django raises ValueError on it at the first read, which would be a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request_content_length(request) is None:
            security_logger.warning(
                "refused %s %s from %s: bad content-length",
                request.method,
                request.path[:200],
                request.META.get("REMOTE_ADDR"),
            )
            return HttpResponseBadRequest("bad content-length", content_type="text/plain")
        return self.get_response(request)


class NoStoreForAuthenticatedMiddleware:
    """Pages seen by a signed-in user may hold health data: no browser or proxy may keep them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
            patch_cache_control(response, no_store=True, private=True)
        return response
