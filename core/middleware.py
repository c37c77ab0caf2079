import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
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


# Session keys (seconds since the epoch, so the JSON serializer stores them as they are).
SIGNED_IN_AT = "signed_in_at"
ACTIVE_AT = "active_at"


def session_record_sign_in(sender: type, request: HttpRequest | None, user: Any, **kwargs) -> None:
    """On user_logged_in: start both clocks. The absolute one never restarts until the next
    sign-in (django.contrib.auth.login has already given the session a new key)."""
    if request is None or not hasattr(request, "session"):
        return
    now = timezone.now().timestamp()
    request.session[SIGNED_IN_AT] = now
    request.session[ACTIVE_AT] = now


def passive_request(view: Callable) -> Callable:
    """Mark a view that pages call on their own (a status poll): it keeps the session's clocks
    running but is not activity, so an open tab cannot keep a session alive forever."""
    view.session_passive = True
    return view


def session_idle_timeout(user: AbstractBaseUser) -> int:
    """Seconds without activity after which the user's session ends."""
    if user.is_staff:
        return settings.SESSION_IDLE_TIMEOUT_STAFF_SECONDS
    return settings.SESSION_IDLE_TIMEOUT_PATIENT_SECONDS


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class SessionTimeoutMiddleware:
    """End a signed-in session after its role's idle timeout or its absolute lifetime, checked
    on the server's clock at every request: the cookie's own expiry is only the browser's word.

    The session and its cookie are also set to expire with the idle timeout, so a session left
    alone dies in the store too. A session with no recorded sign-in (created before this check
    existed) is ended: its age is unknown. Anonymous requests (webhooks, health) are untouched.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: tuple, view_kwargs: dict
    ) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        session = request.session
        now = timezone.now().timestamp()
        idle_timeout = session_idle_timeout(user)
        signed_in_at = session.get(SIGNED_IN_AT)
        active_at = session.get(ACTIVE_AT, signed_in_at)
        if signed_in_at is None or now - signed_in_at > settings.SESSION_ABSOLUTE_LIFETIME_SECONDS:
            return self._sign_out(
                request,
                f"You were signed out after {_duration(settings.SESSION_ABSOLUTE_LIFETIME_SECONDS)}"
                " signed in, to protect your health information. Please sign in again.",
            )
        if now - active_at > idle_timeout:
            return self._sign_out(
                request,
                f"You were signed out after {_duration(idle_timeout)} without activity,"
                " to protect your health information.",
            )
        if not getattr(view_func, "session_passive", False):
            session[ACTIVE_AT] = now
        session.set_expiry(idle_timeout)
        return None

    @staticmethod
    def _sign_out(request: HttpRequest, message: str) -> HttpResponse:
        security_logger.info("session ended by timeout for user %s", request.user.pk)
        logout(request)
        # After the flush: the message rides in the messages cookie to the sign-in page.
        messages.info(request, message)
        # No ?next=: a patient resumes from their dashboard, and no path lands in a URL.
        return redirect(settings.LOGIN_URL)


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
