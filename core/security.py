"""Security events (the SecurityEvent service), and the one 404 that also reports a patient
reaching for another patient's record."""

import hashlib
import hmac
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models
from django.http import Http404, HttpRequest

from accounts.throttling import normalise_login_email
from core.http import client_ip
from core.models import SecurityEvent, SecurityEventKind

security_logger = logging.getLogger("security")


def username_digest(typed: object) -> str:
    """A keyed hash of what was typed as the email, lower-cased and stripped as login matches
    it: support can find every failure for one address (hash the address they are given)
    without the log holding the address, or a password typed into the wrong field."""
    normalised = normalise_login_email(typed)
    if not normalised:
        return ""
    key = hashlib.sha256(f"security-event-username:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()


def security_event_record(
    *,
    kind: str,
    request: HttpRequest | None = None,
    user: AbstractBaseUser | None = None,
    typed_username: object = None,
    ip_address: str | None = None,
    detail: str = "",
) -> SecurityEvent:
    """Append one security event. Only inserts; the request gives address and path (without
    its query string), the signed-in user unless `user` is given."""
    if user is None and request is not None:
        user = getattr(request, "user", None)
    event = SecurityEvent(
        kind=kind,
        user=user if user is not None and user.is_authenticated else None,
        username_hash=username_digest(typed_username),
        ip_address=ip_address or (client_ip(request) if request is not None else None),
        path=request.path[:255] if request is not None else "",
        detail=detail[:64],
    )
    event.save()
    security_logger.info("security event %s %s (%s)", event.pk, kind, event.detail)
    return event


class NotOwned(Http404):
    """The object exists but belongs to another patient. Answered exactly like a missing
    object (404); core.middleware.SecurityEventMiddleware records it with the request."""

    def __init__(self, model: type[models.Model]) -> None:
        super().__init__("Not found")
        self.model_label = model._meta.label


def get_owned_or_404(
    queryset: models.QuerySet, *, owner: dict[str, Any], **lookup: Any
) -> models.Model:
    """`get_object_or_404(queryset, **lookup, **owner)`, except that an object matching
    `lookup` but not `owner` raises NotOwned (still a 404) so the attempt is recorded."""
    found = queryset.filter(**lookup, **owner).first()
    if found is not None:
        return found
    if queryset.model._default_manager.filter(**lookup).exists():
        raise NotOwned(queryset.model)
    raise Http404("Not found")


def on_user_login_failed(sender: object, credentials: dict, request: Any = None, **_: Any) -> None:
    security_event_record(
        kind=SecurityEventKind.LOGIN_FAILED,
        request=request,
        typed_username=credentials.get(settings.AXES_USERNAME_FORM_FIELD)
        or credentials.get("email"),
        detail=getattr(getattr(request, "resolver_match", None), "view_name", "") or "",
    )


def on_user_locked_out(
    sender: object, request: Any = None, username: str | None = None, **_: Any
) -> None:
    security_event_record(kind=SecurityEventKind.LOCKOUT, request=request, typed_username=username)
