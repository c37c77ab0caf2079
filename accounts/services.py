from django.db import IntegrityError, transaction

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
