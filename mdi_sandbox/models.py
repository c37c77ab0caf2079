"""The embedded MDI sandbox's own state. Local development only: never holds real patients."""

import uuid

from django.db import models


def _id() -> str:
    return str(uuid.uuid4())


class SandboxPatient(models.Model):
    patient_id = models.CharField(max_length=36, default=_id, unique=True)
    email = models.EmailField(unique=True)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"sandbox patient {self.patient_id}"


class SandboxFile(models.Model):
    file_id = models.CharField(max_length=36, default=_id, unique=True)
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=32)
    mime_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"sandbox file {self.file_id}"


class SandboxCase(models.Model):
    """Status uses MDI's own names (reference §5.3), as the real API would report them."""

    case_id = models.CharField(max_length=36, default=_id, unique=True)
    patient = models.ForeignKey(SandboxPatient, on_delete=models.CASCADE, related_name="cases")
    metadata = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, default="created")
    reason = models.TextField(blank=True)
    payload = models.JSONField()
    file_ids = models.JSONField(default=list)
    order_status = models.CharField(max_length=16, blank=True)
    tracking_number = models.CharField(max_length=64, blank=True)
    # Webhook timestamps only ever grow per case, so two clicks in one second stay ordered.
    last_event_timestamp = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"sandbox case {self.case_id} ({self.status})"


class SandboxMessage(models.Model):
    patient = models.ForeignKey(SandboxPatient, on_delete=models.CASCADE, related_name="messages")
    channel = models.CharField(max_length=16, default="patient")
    text = models.TextField()
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
    body = models.BinaryField()
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
