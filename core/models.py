from typing import Any

from django.conf import settings
from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AppendOnlyError(Exception):
    """Something tried to change or remove a row of an audit record."""


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk writes that would rewrite history are refused; inserting (also in bulk) is not.
    Django's QuerySet.bulk_update goes through update(), so it is refused too."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(f"{self.model._meta.label} rows are never updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self.model._meta.label} rows are never deleted")


class AppendOnlyModel(models.Model):
    """An audit record: inserted once, never updated or deleted, by anyone, through the ORM.
    On PostgreSQL a trigger refuses the same in SQL (core/migrations/0002)."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{self._meta.label} rows are never updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self._meta.label} rows are never deleted")


class AccessLogAction(models.TextChoices):
    VIEW = "view", "Viewed"
    DOWNLOAD = "download", "Downloaded"
    EXPORT = "export", "Exported"
    CHANGE = "change", "Changed"


class AccessLog(AppendOnlyModel):
    """Who looked at which patient's protected data, when, from where, in which role and on
    which screen.

    Append-only for everyone, superusers included: the admin offers no add, change or delete,
    the model and its QuerySet refuse updates and deletes, and PostgreSQL refuses them in SQL.
    Retention never purges it. It names objects by type and id, never by their content.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # PROTECT: an account with audit history is deactivated, never deleted, so the record
    # keeps naming who it was (SET_NULL would also be an UPDATE, which the trigger refuses).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="access_logs"
    )
    action = models.CharField(max_length=16, choices=AccessLogAction.choices)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    # The patient whose data was reached, so "who saw my data?" is one query.
    patient_user_id = models.BigIntegerField(null=True, db_index=True)
    path = models.CharField(max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    # The actor's standing at that moment (group names, "patient" or "superuser"): groups
    # change later, the record of why someone could see the data must not.
    role = models.CharField(max_length=255, blank=True)
    # The resolved URL name, e.g. "admin:cases_case_change" or "cases:detail".
    screen = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.actor_id} {self.action} {self.object_type}#{self.object_id}"


class SecurityEventKind(models.TextChoices):
    LOGIN_FAILED = "login_failed", "Sign-in failed"
    LOCKOUT = "lockout", "Locked out after repeated failures"
    WEBHOOK_REFUSED = "webhook_refused", "Webhook delivery refused"
    AUTHORIZATION_DENIED = "authorization_denied", "Asked for another patient's record"
    ADMIN_PERMISSION_DENIED = "admin_permission_denied", "Staff page refused (403)"
    SECOND_FACTOR_FAILED = "second_factor_failed", "Wrong two-step sign-in code"


class SecurityEvent(AppendOnlyModel):
    """Something operations should be able to review: failed sign-ins, lockouts, refused
    webhooks, a patient reaching for another patient's record, a staff page refused.

    Append-only like AccessLog. The typed email of a failed sign-in is stored only as a keyed
    hash (core.security.username_digest): it may be a patient's address, or a password typed
    into the wrong field, so it is never kept in the clear; support can still match it.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=32, choices=SecurityEventKind.choices, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="security_events",
    )
    username_hash = models.CharField(max_length=64, blank=True, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    path = models.CharField(max_length=255, blank=True)
    # A short code, never a value: a refusal reason, a model label.
    detail = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M}"


class PurgeKind(models.TextChoices):
    WEBHOOK_BODIES = "webhook_bodies", "Webhook bodies pruned"
    CLOSED_VISIT_ANSWERS = "closed_visit_answers", "Closed visits' answers purged"


class PurgeLog(AppendOnlyModel):
    """One retention run that removed something: what kind, up to when, how many. Counts and
    the cutoff only; the rows it touched keep their own "purged at" mark."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=32, choices=PurgeKind.choices)
    cutoff = models.DateTimeField()
    rows = models.PositiveIntegerField(default=0)
    files = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.rows} at {self.at:%Y-%m-%d}"
