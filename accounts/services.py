from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

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

    Whatever the address, the caller shows the same "check your email" page and nobody is
    signed in; only the inbox learns which case it was:
    - a new address gets an unverified patient login (returned) and a confirmation link;
    - an address that is taken (in any case, or by a sign-up that won a race a moment ago)
      gets nothing created and nothing changed: its owner is told someone tried, with links
      to sign in or reset the password, and None is returned. The password typed is
      discarded unused."""
    email = email.strip().lower()
    if not user_exists_with_email(email=email):
        try:
            user = user_create_patient(email=email, password=password)
        except EmailTaken:
            pass  # created by a concurrent sign-up: treat as any existing account
        else:
            email_verification_send(user=user)
            return user
    user_notify_signup_with_existing_email(email=email)
    return None


# --- Email verification and change -----------------------------------------------------------

EMAIL_LINK_SALT = "accounts.email-link"


class EmailLinkInvalid(DomainError):
    pass


def _email_state(user: User) -> str:
    """Changes whenever the link must stop working: once used (verified_at set), when another
    address is requested, or when the address changes."""
    state = f"{user.pk}:{user.email}:{user.pending_email}:{user.email_verified_at}"
    return salted_hmac(EMAIL_LINK_SALT, state, algorithm="sha256").hexdigest()[:32]


def email_link_token(*, user: User) -> str:
    """A signed, expiring, single-use token naming the user (Django's signing, no new crypto).

    It carries no address: the address to confirm is read from the account when it is used,
    so neither the link nor any log of it holds an email."""
    return signing.dumps({"u": user.pk, "s": _email_state(user)}, salt=EMAIL_LINK_SALT)


def email_link_user(*, token: str) -> User:
    """The user a link was made for, if it is genuine, unexpired and unused."""
    try:
        data = signing.loads(
            token, salt=EMAIL_LINK_SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE
        )
    except signing.SignatureExpired as exc:
        raise EmailLinkInvalid("This link has expired. We can send you a new one.") from exc
    except signing.BadSignature as exc:
        raise EmailLinkInvalid("This link isn't valid. We can send you a new one.") from exc
    user = User.objects.filter(pk=data.get("u"), is_active=True).first()
    if user is None or not constant_time_compare(_email_state(user), str(data.get("s"))):
        raise EmailLinkInvalid(
            "This link has already been used or a newer one was sent. Sign in to continue."
        )
    return user


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _account_email(*, to: str, subject: str, template: str, **context: object) -> None:
    """One plain-text account email. The body is a template that names no health information;
    every one gets the brand name and the password-reset link (the way back in)."""
    context = {
        "site_name": settings.SITE_NAME,
        "reset_url": _absolute(reverse("accounts:password_reset")),
        **context,
    }
    send_mail(
        subject=subject,
        message=render_to_string(template, context),
        from_email=None,
        recipient_list=[to],
    )


def email_verification_send(*, user: User) -> None:
    """Email a confirmation link to the address awaiting confirmation (a requested new one,
    or the account's own while it is unverified). Nothing is sent if nothing awaits."""
    to = user.pending_email or (None if user.email_verified else user.email)
    if not to:
        return
    _account_email(
        to=to,
        subject=f"Confirm your email address for {settings.SITE_NAME}",
        template="accounts/verify_email.txt",
        verify_url=_absolute(reverse("accounts:verify_email", args=[email_link_token(user=user)])),
        hours=settings.EMAIL_VERIFICATION_MAX_AGE // 3600,
        is_change=bool(user.pending_email),
    )


@transaction.atomic
def email_verify(*, token: str) -> User:
    """Confirm the address a link was sent to. For a change of address the new one replaces
    the old only now, from its own inbox, and the old address is told."""
    user = email_link_user(token=token)
    user = User.objects.select_for_update().get(pk=user.pk)
    old_email = user.email
    if user.pending_email:
        if User.objects.filter(email__iexact=user.pending_email).exclude(pk=user.pk).exists():
            user.pending_email = ""
            user.save(update_fields=["pending_email"])
            raise EmailLinkInvalid(EMAIL_TAKEN)
        user.email, user.pending_email = user.pending_email, ""
    user.email_verified_at = timezone.now()
    try:
        with transaction.atomic():
            user.save(update_fields=["email", "pending_email", "email_verified_at"])
    except IntegrityError as exc:  # taken by a sign-up a moment ago
        raise EmailLinkInvalid(EMAIL_TAKEN) from exc
    if user.email != old_email:
        transaction.on_commit(lambda: _notify_email_changed(old_email=old_email))
    return user


class EmailChangeRefused(DomainError):
    pass


def email_change_request(*, user: User, new_email: str) -> None:
    """Ask for a new sign-in address; it takes effect only when confirmed from its inbox.

    A taken address is not revealed: the same confirmation page is shown, nothing changes, and
    that address's owner is told someone tried. Once a visit has gone to our clinical partner
    they hold the address too, so support changes it in both places."""
    from patients.models import Patient  # accounts sits below patients; avoid an import cycle

    new_email = new_email.strip().lower()
    if new_email == user.email:
        raise EmailChangeRefused("That is already your email address.")
    if Patient.objects.filter(user=user).exclude(mdi_patient_id="").exists():
        raise EmailChangeRefused(
            "Your email address is also on your record with our clinical team, so it must be "
            "changed by our support team. Please contact support."
        )
    if user_exists_with_email(email=new_email):
        user_notify_signup_with_existing_email(email=new_email)
        return
    user.pending_email = new_email
    user.save(update_fields=["pending_email"])
    email_verification_send(user=user)


def _notify_email_changed(*, old_email: str) -> None:
    _account_email(
        to=old_email,
        subject=f"Your {settings.SITE_NAME} email address was changed",
        template="accounts/email_changed.txt",
    )


def user_notify_signup_with_existing_email(*, email: str) -> None:
    """Tell an account's owner that someone tried to sign up with their address: it is either
    them having forgotten (the links get them in) or someone probing (they should know)."""
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        return
    _account_email(
        to=user.email,
        subject=f"Someone tried to sign up to {settings.SITE_NAME} with your email address",
        template="accounts/signup_existing_email.txt",
        login_url=_absolute(reverse("accounts:login")),
    )


def user_notify_password_changed(*, user: User) -> None:
    """Tell the account's owner their password changed, so a change they did not make is
    noticed. Names no health information and no password."""
    _account_email(
        to=user.email,
        subject=f"Your {settings.SITE_NAME} password was changed",
        template="accounts/password_changed_email.txt",
    )
