from django.conf import settings
from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AccessLogAction(models.TextChoices):
    VIEW = "view", "Viewed"
    DOWNLOAD = "download", "Downloaded"
    EXPORT = "export", "Exported"
    CHANGE = "change", "Changed"


class AccessLog(models.Model):
    """Who looked at which patient's protected data, when and from where.

    Append-only: the admin shows it read-only and nothing in the code updates or deletes it.
    It names objects by type and id, never by their content.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="access_logs"
    )
    action = models.CharField(max_length=16, choices=AccessLogAction.choices)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    # The patient whose data was reached, so "who saw my data?" is one query.
    patient_user_id = models.BigIntegerField(null=True, db_index=True)
    path = models.CharField(max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.actor_id} {self.action} {self.object_type}#{self.object_id}"
