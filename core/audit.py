"""Recording access to protected health information (the AccessLog service)."""

from collections.abc import Iterable

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models
from django.http import HttpRequest

from core.http import client_ip
from core.models import AccessLog, AccessLogAction

PATIENT_ROLE = "patient"
SUPERUSER_ROLE = "superuser"


def actor_role(user: AbstractBaseUser | None) -> str:
    """The actor's standing now, in words that stay true after groups change."""
    if user is None or not user.is_authenticated:
        return ""
    if user.is_superuser:
        return SUPERUSER_ROLE
    if user.is_staff:
        return ", ".join(sorted(user.groups.values_list("name", flat=True))) or "staff"
    return PATIENT_ROLE


def request_screen(request: HttpRequest | None) -> str:
    """The URL name that served the request ("admin:cases_case_change", "cases:detail")."""
    match = getattr(request, "resolver_match", None)
    return (match.view_name or "")[:100] if match is not None else ""


def _entry(
    *,
    request: HttpRequest | None,
    action: str,
    object_type: str,
    object_id: str,
    patient_user_id: int | None,
    role: str,
) -> AccessLog:
    user = getattr(request, "user", None)
    return AccessLog(
        actor=user if user is not None and user.is_authenticated else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        patient_user_id=patient_user_id,
        path=(request.path[:255] if request is not None else ""),
        ip_address=(client_ip(request) if request is not None else None),
        role=role,
        screen=request_screen(request),
    )


def access_log_record(
    *,
    request: HttpRequest | None,
    obj: models.Model,
    action: str = AccessLogAction.VIEW,
    patient_user_id: int | None = None,
) -> AccessLog:
    """Append one access record. Safe to call on every view: it only ever inserts.

    The path is stored without its query string, which could carry identifiers.
    """
    entry = _entry(
        request=request,
        action=action,
        object_type=obj._meta.label,
        object_id=str(obj.pk),
        patient_user_id=patient_user_id,
        role=actor_role(getattr(request, "user", None)),
    )
    entry.save()
    return entry


def access_log_record_many(
    *,
    request: HttpRequest | None,
    model: type[models.Model],
    seen: Iterable[tuple[object, int | None]],
    action: str = AccessLogAction.VIEW,
) -> list[AccessLog]:
    """One record per (object id, patient user id) shown together, e.g. the rows of an admin
    list or an export, in one INSERT: "who saw my data" must find the list that showed it."""
    role = actor_role(getattr(request, "user", None))
    entries = [
        _entry(
            request=request,
            action=action,
            object_type=model._meta.label,
            object_id=str(object_id),
            patient_user_id=patient_user_id,
            role=role,
        )
        for object_id, patient_user_id in seen
    ]
    return AccessLog.objects.bulk_create(entries)
