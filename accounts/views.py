from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import LoginView, PasswordResetView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters

from accounts.forms import EmailAuthenticationForm, SignUpForm
from accounts.services import EmailTaken, user_create_patient


@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_create_patient(
                email=form.cleaned_data["email"], password=form.cleaned_data["password1"]
            )
        except EmailTaken as exc:
            form.add_error("email", str(exc))
        else:
            login(request, user, backend="accounts.backends.EmailBackend")
            messages.success(request, "Your account is ready. First, two quick questions.")
            return redirect("patients:start")
    return render(request, "accounts/signup.html", {"form": form})


class EmailLoginView(LoginView):
    authentication_form = EmailAuthenticationForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class BrandedPasswordResetView(PasswordResetView):
    """The reset email names the brand (read per request, so white-label settings apply)."""

    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"

    def form_valid(self, form):
        self.extra_email_context = {"site_name": settings.SITE_NAME}
        return super().form_valid(form)
