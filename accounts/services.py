from django.db import transaction

from accounts.models import User


@transaction.atomic
def user_create_patient(*, email: str, password: str) -> User:
    """Create a patient login. The caller has validated the password against the validators."""
    user = User(email=email)
    user.full_clean(exclude=["password"])
    user.set_password(password)
    user.save()
    return user
