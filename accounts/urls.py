from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import path, reverse_lazy

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("signup/check-email/", views.signup_check_email, name="signup_check_email"),
    path("verify/<str:token>/", views.verify_email, name="verify_email"),
    path("verify-email/send/", views.verify_email_resend, name="verify_email_resend"),
    path("email/", views.email_change, name="email_change"),
    path("", views.account_settings, name="settings"),
    path("two-step/setup/", views.mfa_setup, name="mfa_setup"),
    path("two-step/verify/", views.mfa_verify_step, name="mfa_verify"),
    path("two-step/off/", views.mfa_off, name="mfa_off"),
    path("login/", views.EmailLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.AccountPasswordChangeView.as_view(), name="password_change"),
    path(
        "password/changed/",
        login_required(
            auth_views.PasswordChangeDoneView.as_view(
                template_name="accounts/password_change_done.html"
            )
        ),
        name="password_change_done",
    ),
    path(
        "password-reset/",
        views.BrandedPasswordResetView.as_view(
            success_url=reverse_lazy("accounts:password_reset_done")
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="accounts/password_reset_confirm.html",
            success_url=reverse_lazy("accounts:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
]
