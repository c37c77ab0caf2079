from base64 import b32encode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, PasswordChangeView, PasswordResetView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from accounts.forms import (
    CodeForm,
    CurrentPasswordForm,
    EmailAuthenticationForm,
    EmailChangeForm,
    SignUpForm,
)
from accounts.mfa import (
    CodeRefused,
    mfa_device_confirm,
    mfa_device_pending,
    mfa_disable,
    mfa_qr_svg,
    mfa_verify,
)
from accounts.services import (
    EmailChangeRefused,
    EmailLinkInvalid,
    email_change_request,
    email_link_user,
    email_verification_send,
    email_verify,
    user_notify_password_changed,
    user_sign_up,
)
from core import ratelimit as limits
from core.exceptions import DomainError

SIGNUP_SESSION_KEY = "accounts_signed_up_user_id"


@sensitive_post_parameters("password1", "password2")
@ratelimit(group="signup-ip", key="ip", rate=limits.SIGNUP_PER_IP, method="POST")
@ratelimit(
    group="signup-email", key=limits.posted_email, rate=limits.SIGNUP_PER_EMAIL, method="POST"
)
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = user_sign_up(
            email=form.cleaned_data["email"], password=form.cleaned_data["password1"]
        )
        if user is not None:
            # Only this browser may be signed in by the link: a link opened elsewhere (or by
            # a mail scanner) confirms the address and asks for the password.
            request.session[SIGNUP_SESSION_KEY] = user.pk
        # Same page whether or not the address already had an account: nothing here says so.
        return redirect("accounts:signup_check_email")
    return render(request, "accounts/signup.html", {"form": form})


def signup_check_email(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/signup_check_email.html")


def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button; only the POST confirms. Mail scanners open links with GET, and a
    link that acted on GET would be confirmed by a machine rather than the inbox's owner."""
    try:
        user = email_link_user(token=token)
    except EmailLinkInvalid as exc:
        return render(request, "accounts/verify_email.html", {"error": str(exc)}, status=400)
    if request.method != "POST":
        return render(request, "accounts/verify_email.html", {"pending": user.pending_email})
    try:
        user = email_verify(token=token)
    except EmailLinkInvalid as exc:
        return render(request, "accounts/verify_email.html", {"error": str(exc)}, status=400)
    signed_up_here = request.session.pop(SIGNUP_SESSION_KEY, None) == user.pk
    if request.user.is_authenticated and request.user.pk == user.pk:
        update_session_auth_hash(request, user)  # the address is part of the session's hash
        messages.success(request, "Thank you: your email address is confirmed.")
        return redirect("cases:home")
    if signed_up_here and not request.user.is_authenticated:
        login(request, user, backend="accounts.backends.EmailBackend")
        messages.success(request, "Your email is confirmed. First, two quick questions.")
        return redirect("patients:start")
    messages.success(request, "Your email address is confirmed. Please sign in to continue.")
    return redirect("accounts:login")


@login_required
@require_POST
@ratelimit(group="verify-resend", key="user", rate=limits.VERIFY_RESEND_PER_USER, method="POST")
def verify_email_resend(request: HttpRequest) -> HttpResponse:
    email_verification_send(user=request.user)
    messages.success(request, "We've sent you a new link. It may take a few minutes to arrive.")
    return redirect(request.POST.get("next") or "cases:home")


@login_required
@sensitive_post_parameters("password")
@ratelimit(group="email-change", key="user", rate=limits.VERIFY_RESEND_PER_USER, method="POST")
def email_change(request: HttpRequest) -> HttpResponse:
    form = EmailChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            email_change_request(user=request.user, new_email=form.cleaned_data["email"])
        except EmailChangeRefused as exc:
            form.add_error("email", str(exc))
        else:
            return render(request, "accounts/email_change_sent.html")
    return render(request, "accounts/email_change.html", {"form": form})


class EmailLoginView(LoginView):
    authentication_form = EmailAuthenticationForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


# Each request sends an email to whoever the address belongs to: throttled so the form cannot
# be used to flood an inbox or to spray reset links.
@method_decorator(
    ratelimit(group="reset-ip", key="ip", rate=limits.RESET_PER_IP, method="POST"),
    name="dispatch",
)
@method_decorator(
    ratelimit(
        group="reset-email",
        key=limits.posted_email,
        rate=limits.RESET_PER_EMAIL,
        method="POST",
    ),
    name="dispatch",
)
class BrandedPasswordResetView(PasswordResetView):
    """The reset email names the brand (read per request, so white-label settings apply)."""

    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"

    def form_valid(self, form):
        self.extra_email_context = {"site_name": settings.SITE_NAME}
        return super().form_valid(form)


@login_required
def account_settings(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/settings.html")


def _safe_next(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(default) if default else ""


def _after_second_step(request: HttpRequest) -> str:
    return _safe_next(request, "admin:index" if request.user.is_staff else "cases:home")


@login_required
@sensitive_post_parameters("code")
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """Add an authenticator app: scan, then prove it with one code."""
    if request.user.two_factor_enabled and not request.user.is_verified():
        return redirect("accounts:mfa_verify")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            mfa_device_confirm(request=request, code=form.cleaned_data["code"])
        except CodeRefused as exc:
            form.add_error("code", str(exc))
        else:
            messages.success(request, "Two-step sign-in is on.")
            return redirect(_after_second_step(request))
    device = mfa_device_pending(user=request.user)
    context = {
        "form": form,
        "qr_svg": mark_safe(mfa_qr_svg(device=device)),  # noqa: S308  (segno's own markup)
        "secret": b32encode(device.bin_key).decode(),
        "next": _safe_next(request, ""),
    }
    return render(request, "accounts/mfa_setup.html", context)


@login_required
@sensitive_post_parameters("code")
def mfa_verify_step(request: HttpRequest) -> HttpResponse:
    """Second step of sign-in."""
    if request.user.is_verified():
        return redirect(_after_second_step(request))
    if not request.user.two_factor_enabled:
        return redirect("accounts:mfa_setup")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            mfa_verify(request=request, code=form.cleaned_data["code"])
        except CodeRefused as exc:
            form.add_error("code", str(exc))
        else:
            return redirect(_after_second_step(request))
    return render(
        request, "accounts/mfa_verify.html", {"form": form, "next": _safe_next(request, "")}
    )


@login_required
@require_POST
@sensitive_post_parameters("password")
@ratelimit(group="mfa-off", key="user", rate=limits.VERIFY_RESEND_PER_USER, method="POST")
def mfa_off(request: HttpRequest) -> HttpResponse:
    form = CurrentPasswordForm(request.user, request.POST)
    if not form.is_valid():
        messages.error(request, "That is not your current password; two-step sign-in is on.")
        return redirect("accounts:settings")
    try:
        mfa_disable(request=request)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Two-step sign-in is off.")
    return redirect("accounts:settings")


@method_decorator(login_required, name="dispatch")
@method_decorator(
    ratelimit(
        group="password-change", key="user", rate=limits.PASSWORD_CHANGE_PER_USER, method="POST"
    ),
    name="dispatch",
)
class AccountPasswordChangeView(PasswordChangeView):
    """Asks for the current password. Django's view keeps this session signed in
    (update_session_auth_hash); every other session of the user fails its auth-hash check on
    its next request and is signed out."""

    template_name = "accounts/password_change_form.html"
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form):
        response = super().form_valid(form)
        user_notify_password_changed(user=form.user)
        return response
