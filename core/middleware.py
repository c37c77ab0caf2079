import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers, patch_cache_control

from core.http import client_ip, request_content_length

security_logger = logging.getLogger("security")
# Room for the other fields of a form that carries one file.
UPLOAD_FORM_SLACK = 1024 * 1024


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
                client_ip(request),
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


class DeclaredUploadSizeMiddleware:
    """Refuse a multipart request whose declared size is beyond any upload we accept, before
    a byte of it is read: Django would otherwise write a 150 MB body to disk first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH", "")
        limit = settings.UPLOAD_MAX_BYTES + UPLOAD_FORM_SLACK
        if (
            request.content_type == "multipart/form-data"
            and declared.isdigit()
            and int(declared) > limit
        ):
            security_logger.info(
                "refused a %s-byte upload to %s from %s", declared, request.path, client_ip(request)
            )
            return render(
                request,
                "core/upload_too_large.html",
                {"limit_mb": settings.UPLOAD_MAX_BYTES // (1024 * 1024)},
                status=413,
            )
        return self.get_response(request)


class SecurityEventMiddleware:
    """Records what a view refused without saying so: another patient's record (answered as
    a 404 by core.security.get_owned_or_404) and a staff page refused with a 403. The answer
    itself is left to Django."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        from core.models import SecurityEventKind
        from core.security import NotOwned, security_event_record

        if isinstance(exception, NotOwned):
            security_event_record(
                kind=SecurityEventKind.AUTHORIZATION_DENIED,
                request=request,
                detail=exception.model_label,
            )
        elif isinstance(exception, PermissionDenied) and _is_admin(request):
            security_event_record(
                kind=SecurityEventKind.ADMIN_PERMISSION_DENIED,
                request=request,
                detail=(request.resolver_match.view_name or "")[:64],
            )


def _is_admin(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and "admin" in match.namespaces
