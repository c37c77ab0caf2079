from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from accounts.mfa import mfa_required

# Reachable with a password alone: finishing the second step, leaving, and what is not
# signed-in at all (static files, health checks, webhooks authenticated by signature).
_OPEN_PREFIXES = ("/static/", "/healthz", "/webhooks/")


class SecondFactorMiddleware:
    """After the password, a user who must use a second factor reaches nothing else until
    the session is verified: staff set one up first; patients who turned it on enter a code.

    After django_otp.middleware.OTPMiddleware, which gives request.user.is_verified()."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.open_paths: tuple[str, ...] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_verified():
            return self.get_response(request)
        if request.path.startswith(_OPEN_PREFIXES) or request.path in self._open_paths():
            return self.get_response(request)
        if not mfa_required(user):
            return self.get_response(request)
        step = "accounts:mfa_verify" if user.two_factor_enabled else "accounts:mfa_setup"
        query = urlencode({"next": request.get_full_path()}) if request.method == "GET" else ""
        return redirect(reverse(step) + (f"?{query}" if query else ""))

    def _open_paths(self) -> tuple[str, ...]:
        if self.open_paths is None:
            names = ["accounts:mfa_verify", "accounts:mfa_setup", "accounts:logout"]
            self.open_paths = tuple(reverse(name) for name in names)
        return self.open_paths
