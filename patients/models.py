import uuid

from django.conf import settings
from django.db import models

from core.fields import (
    EncryptedDateField,
    EncryptedJSONField,
    EncryptedTextField,
    PrivateFileNameField,
)
from core.models import TimeStampedModel


class SexAtBirth(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"


class Patient(TimeStampedModel):
    """A person seeking care: the identity and eligibility side of a user.

    Clinical answers never live here (they belong to intake); this model holds who the
    patient is, so it can be shown to support without exposing what they told a clinician.
    Identifying fields are encrypted. The state of residence stays plain: a two-letter code
    identifies nobody on its own, and eligibility and reporting need to query it.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="patient"
    )
    # Safe to show in URLs, emails and logs, unlike the primary key or any name.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    state_of_residence = models.CharField(max_length=2, blank=True)
    date_of_birth = EncryptedDateField(null=True, blank=True)
    eligibility_confirmed_at = models.DateTimeField(null=True, blank=True)

    legal_first_name = EncryptedTextField(null=True, blank=True)
    legal_last_name = EncryptedTextField(null=True, blank=True)
    sex_at_birth = EncryptedTextField(null=True, blank=True)
    phone = EncryptedTextField(null=True, blank=True)
    # {"line1", "line2", "city", "state", "zip"}: where the pharmacy ships.
    shipping_address = EncryptedJSONField(null=True, blank=True)
    identity_completed_at = models.DateTimeField(null=True, blank=True)

    # Filled by case submission once MDI knows this patient.
    mdi_patient_id = models.CharField(max_length=64, blank=True)

    # How the patient hears that a visit changed; texts go to `phone`.
    notify_by_email = models.BooleanField(default=True)
    notify_by_sms = models.BooleanField(default=False)

    class Meta:
        # Once a visit is submitted the patient can no longer change their state or date of
        # birth (the clinician relied on them); support corrects them with this permission.
        permissions = [
            ("correct_eligibility", "Can correct a patient's state of residence and birth date")
        ]

    def __str__(self) -> str:
        return f"Patient {self.public_id}"


class DocumentKind(models.TextChoices):
    PHOTO_ID = "photo_id", "Photo ID"
    SELFIE = "selfie", "Selfie"


class IdentityDocument(TimeStampedModel):
    """An uploaded identity file. The bytes live in private storage under a random name."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(max_length=16, choices=DocumentKind.choices)
    stored_name = PrivateFileNameField()
    mime_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    # Filled by case submission once MDI has the file.
    mdi_file_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.public_id}"


class StateWaitlistEntry(TimeStampedModel):
    """'Tell me when you serve my state': an email and a state code, nothing clinical."""

    email = models.EmailField()
    state = models.CharField(max_length=2)

    class Meta:
        verbose_name_plural = "state waitlist entries"
        constraints = [
            models.UniqueConstraint(fields=["email", "state"], name="patients_waitlist_unique")
        ]

    def __str__(self) -> str:
        return f"{self.state} waitlist entry"
