import uuid

from django.conf import settings
from django.db import models

from core.models import TimeStampedModel


class Patient(TimeStampedModel):
    """A person seeking care: the identity and eligibility side of a user.

    Clinical answers never live here (they belong to intake); this model holds who the
    patient is, so it can be shown to support without exposing what they told a clinician.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="patient"
    )
    # Safe to show in URLs, emails and logs, unlike the primary key or any name.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    def __str__(self) -> str:
        return f"Patient {self.public_id}"
