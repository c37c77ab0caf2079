"""The name django-axes counts failed sign-ins under (settings.AXES_USERNAME_CALLABLE)."""

from django.conf import settings
from django.http import HttpRequest


def normalise_login_email(value: object) -> str | None:
    """The form a login email is matched in: stripped and lower-cased, as the backend matches
    it case-insensitively. Anything else in the username field counts under its own text."""
    if not isinstance(value, str):
        return None
    return value.strip().lower()


def axes_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """Axes calls this for every attempt, lockout check and reset. Without it `Victim@Example.com`
    and `victim@example.com` were two counters, each with its own five tries, at one account."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        return normalise_login_email(credentials.get(field))
    data = getattr(request, "data", None) or getattr(request, "POST", {})
    return normalise_login_email(data.get(field))
