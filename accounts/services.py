from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import User
from core.exceptions import DomainError

EMAIL_TAKEN = (
    "An account with this email already exists. Try signing in or resetting your password."
)


class EmailTaken(DomainError):
    pass


def user_create_patient(*, email: str, password: str) -> User:
    """Create a patient login. The caller has validated the password against the validators.

    Two sign-ups for one email at the same moment (a double click) both pass the form's check;
    the unique index decides, and the loser gets EmailTaken, never a 500."""
    user = User(email=email)
    user.full_clean(exclude=["password"])
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise EmailTaken(EMAIL_TAKEN) from exc
    return user


def user_exists_with_email(*, email: str) -> bool:
    return User.objects.filter(email__iexact=email.strip()).exists()


def user_sign_up(*, email: str, password: str) -> User | None:
    """Sign-up that does not tell a visitor whether an address already has an account.

    A new address gets a patient login (returned; the caller signs it in). An address that is
    taken (in any case, or by a sign-up that won a race a moment ago) gets nothing created and
    nothing changed: its owner is emailed that someone tried, with links to sign in or reset
    the password, and None is returned so the caller shows the same neutral "check your email"
    page whoever typed the address. The password typed is discarded unused."""
    email = email.strip().lower()
    if not user_exists_with_email(email=email):
        try:
            return user_create_patient(email=email, password=password)
        except EmailTaken:
            pass  # created by a concurrent sign-up: treat as any existing account
    user_notify_signup_with_existing_email(email=email)
    return None


def user_notify_signup_with_existing_email(*, email: str) -> None:
    """Tell an account's owner that someone tried to sign up with their address: it is either
    them having forgotten (the links get them in) or someone probing (they should know)."""
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        return
    context = {
        "site_name": settings.SITE_NAME,
        "login_url": settings.SITE_URL.rstrip("/") + reverse("accounts:login"),
        "reset_url": settings.SITE_URL.rstrip("/") + reverse("accounts:password_reset"),
    }
    send_mail(
        subject=f"Someone tried to sign up to {settings.SITE_NAME} with your email address",
        message=render_to_string("accounts/signup_existing_email.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )


def user_notify_password_changed(*, user: User) -> None:
    """Tell the account's owner their password changed, so a change they did not make is
    noticed. Names no health information and no password."""
    context = {
        "site_name": settings.SITE_NAME,
        "reset_url": settings.SITE_URL.rstrip("/") + reverse("accounts:password_reset"),
    }
    send_mail(
        subject=f"Your {settings.SITE_NAME} password was changed",
        message=render_to_string("accounts/password_changed_email.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )
