"""The embedded MDI sandbox's own state. Local development only, yet encrypted like the rest:
what testers type into an intake is often their own name, email and history.
"""

import hashlib
import hmac
import uuid
from typing import Any

from django.conf import settings
from django.db import models

from core.fields import EncryptedBinaryField, EncryptedJSONField, EncryptedTextField

PARTNER = "App\\Models\\Partner"
CLINICIAN = "App\\Models\\Clinician"
SUPPORT = "App\\Models\\Support"


def _id() -> str:
    return str(uuid.uuid4())


def email_digest(email: str) -> str:
    """Keyed, so the column does not reveal whether a known address is in the sandbox; the
    encrypted email itself cannot be compared in SQL."""
    key = hashlib.sha256(f"mdi-sandbox-email:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()


class SandboxFile(models.Model):
    file_id = models.CharField(max_length=36, default=_id, unique=True)
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=32)
    mime_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"sandbox file {self.file_id}"


class SandboxPatient(models.Model):
    patient_id = models.CharField(max_length=36, default=_id, unique=True)
    email = EncryptedTextField()
    email_digest = models.CharField(max_length=64, unique=True, editable=False)
    payload = EncryptedJSONField()
    driver_license = models.ForeignKey(
        SandboxFile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"sandbox patient {self.patient_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The digest is derived here, so no write path can leave it out of step with the email.
        self.email = self.email.strip().lower()
        self.email_digest = email_digest(self.email)
        if kwargs.get("update_fields") is not None and "email" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "email_digest"}
        super().save(*args, **kwargs)


class SandboxCase(models.Model):
    """Status uses MDI's own names (reference §5.3), as the real API would report them."""

    case_id = models.CharField(max_length=36, default=_id, unique=True)
    patient = models.ForeignKey(SandboxPatient, on_delete=models.CASCADE, related_name="cases")
    metadata = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, default="created")
    reason = EncryptedTextField(blank=True, default="")
    payload = EncryptedJSONField()
    file_ids = models.JSONField(default=list)
    order_status = models.CharField(max_length=16, blank=True)
    tracking_number = models.CharField(max_length=64, blank=True)
    # Webhook timestamps only ever grow per case, so two clicks in one second stay ordered.
    last_event_timestamp = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("act_as_clinician", "Can act as the MDI clinician and pharmacy in the sandbox"),
        ]

    def __str__(self) -> str:
        return f"sandbox case {self.case_id} ({self.status})"


class SandboxCaseStatus(models.Model):
    """One row per status a case entered, as MDI's GET /cases/{id}/statuses lists them."""

    case = models.ForeignKey(SandboxCase, on_delete=models.CASCADE, related_name="statuses")
    name = models.CharField(max_length=16)
    reason = EncryptedTextField(null=True, blank=True)
    # Who moved it, in MDI's terms: PARTNER (us), CLINICIAN or SUPPORT (MDI's staff).
    user_type = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.name}"


class SandboxMessage(models.Model):
    patient = models.ForeignKey(SandboxPatient, on_delete=models.CASCADE, related_name="messages")
    channel = models.CharField(max_length=16, default="patient")
    text = EncryptedTextField()
    user_type = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"sandbox message {self.pk}"


class SandboxWebhook(models.Model):
    """Every webhook the sandbox sends (or holds back), with what our endpoint answered."""

    case = models.ForeignKey(
        SandboxCase, null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    event_type = models.CharField(max_length=64)
    # The exact signed bytes, encrypted: a webhook body can carry a reason or a message.
    body = EncryptedBinaryField()
    bad_signature = models.BooleanField(default=False)
    is_held = models.BooleanField(default=False)
    response_status = models.IntegerField(null=True, blank=True)
    error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.response_status}"
