from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm, UserChangeForm

from accounts.models import User
from patients.limits import MDI_EMAIL_MAX

# The email goes to MD Integrations with the patient, and it accepts no more than this; we
# refuse a longer one here rather than have it cut or refused when the case is sent.
EMAIL_TOO_LONG = (
    f"Our clinical partner accepts email addresses of at most {MDI_EMAIL_MAX} characters. "
    "Please use a shorter address. You entered %(show_value)d."
)


class SignUpForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=MDI_EMAIL_MAX,
        error_messages={"max_length": EMAIL_TOO_LONG},
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=(
            "At least 10 characters, 4 of them different; not a common password and not only"
            " numbers."
        ),
    )
    password2 = forms.CharField(
        label="Confirm password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_email(self) -> str:
        # No "already taken" error here: it would tell anyone which addresses have an account.
        # accounts.services.user_sign_up handles a taken address without saying so.
        return self.cleaned_data["email"].strip().lower()

    def clean(self) -> dict:
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords do not match.")
        elif password1:
            try:
                password_validation.validate_password(
                    password1, User(email=cleaned.get("email", ""))
                )
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class CodeForm(forms.Form):
    code = forms.CharField(
        label="6-digit code from your authenticator app",
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class CurrentPasswordForm(forms.Form):
    password = forms.CharField(
        label="Current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, user: User, *args: object, **kwargs: object) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your current password.")
        return password


class EmailChangeForm(CurrentPasswordForm):
    """A new sign-in address, confirmed by the current password: a session left open on a
    shared computer must not be enough to take the account over."""

    email = forms.EmailField(
        label="New email address",
        max_length=MDI_EMAIL_MAX,
        error_messages={"max_length": EMAIL_TOO_LONG},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    field_order = ["email", "password"]


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email address",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            "That email and password do not match an account. Passwords are case-sensitive."
        ),
    }


class StaffUserCreationForm(BaseUserCreationForm):
    """Admin's add-user form for an email-only user model."""

    class Meta:
        model = User
        fields = ("email",)


class StaffUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
