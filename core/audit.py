"""Recording access to protected health information (the AccessLog service)."""

from django.db import models
from django.http import HttpRequest

from core.models import AccessLog, AccessLogAction


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
    user = getattr(request, "user", None)
    return AccessLog.objects.create(
        actor=user if user is not None and user.is_authenticated else None,
        action=action,
        object_type=obj._meta.label,
        object_id=str(obj.pk),
        patient_user_id=patient_user_id,
        path=(request.path[:255] if request is not None else ""),
        ip_address=(request.META.get("REMOTE_ADDR") if request is not None else None),
    )
