from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, PasswordChangeView, PasswordResetView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from django_ratelimit.decorators import ratelimit

from accounts.forms import EmailAuthenticationForm, SignUpForm
from accounts.services import user_notify_password_changed, user_sign_up
from core import ratelimit as limits


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
        if user is None:
            # The address has an account; its owner has been emailed. Same neutral page as
            # anyone is shown who must check their inbox: nothing here says the account exists.
            return redirect("accounts:signup_check_email")
        login(request, user, backend="accounts.backends.EmailBackend")
        messages.success(request, "Your account is ready. First, two quick questions.")
        return redirect("patients:start")
    return render(request, "accounts/signup.html", {"form": form})


def signup_check_email(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/signup_check_email.html")


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
