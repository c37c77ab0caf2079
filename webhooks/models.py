"""The raw webhook log: one delivery row per POST, one event row per distinct event.

Domain-free: nothing here knows what a case is. Bodies are protected health information and
are stored encrypted; the few plain columns (provider, type, event key, external ids) are
what support searches on and carry no clinical content.
"""

from django.db import models
from django.db.models import Q

from core.fields import EncryptedBinaryField, EncryptedJSONField


class Provider(models.TextChoices):
    MDI = "mdi", "MD Integrations"
    STRIPE = "stripe", "Stripe"


class DeliveryOutcome(models.TextChoices):
    ACCEPTED = "accepted", "Accepted (new event)"
    DUPLICATE = "duplicate", "Duplicate of a stored event"
    UNAUTHENTICATED = "unauthenticated", "Unauthenticated (refused)"
    TOO_LARGE = "too_large", "Body too large (refused unread)"


class WebhookDelivery(models.Model):
    """One HTTP request, authenticated or not. A refused request keeps no body."""

    provider = models.CharField(max_length=16, choices=Provider.choices)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    headers = models.JSONField(default=dict)  # secrets and signatures redacted
    body_size = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=16, choices=DeliveryOutcome.choices)
    failure_reason = models.CharField(max_length=64, blank=True)
    event = models.ForeignKey(
        "WebhookEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries"
    )

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.provider} delivery {self.pk} ({self.outcome})"


class EventStatus(models.TextChoices):
    RECEIVED = "received", "Received (waiting to be processed)"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Processed: changed nothing (stale or duplicate)"
    UNHANDLED = "unhandled", "No handler for this type"
    MALFORMED = "malformed", "Malformed body"
    FAILED = "failed", "Failed after retries"
    RESOLVED = "resolved", "Resolved by support"


class WebhookEvent(models.Model):
    """One distinct event. The unique (provider, event_key) pair makes duplicates impossible;
    the table is also the work queue: `process_webhooks` workers claim received events."""

    provider = models.CharField(max_length=16, choices=Provider.choices)
    event_key = models.CharField(max_length=128)
    event_type = models.CharField(max_length=64, blank=True, db_index=True)
    raw_body = EncryptedBinaryField()
    # What the domain's preparers looked up before processing (e.g. who cancelled a case).
    context = EncryptedJSONField(null=True, blank=True)
    # When the provider says it happened (MDI's Unix `timestamp`), and its raw value for ordering.
    occurred_at = models.DateTimeField(null=True, blank=True)
    provider_timestamp = models.BigIntegerField(null=True, blank=True)
    # The provider's own object id (MDI case id) and our reference (MDI `metadata`), for search.
    external_id = models.CharField(max_length=64, blank=True, db_index=True)
    reference = models.CharField(max_length=255, blank=True, db_index=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    status = models.CharField(
        max_length=16, choices=EventStatus.choices, default=EventStatus.RECEIVED, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Until when a worker holds this event (webhooks.services.webhook_events_claim). A worker
    # that dies mid-event leaves the claim to lapse, and another worker takes the event.
    claimed_until = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome_note = models.CharField(max_length=255, blank=True)
    last_error = models.TextField(blank=True)
    # Set when retention cleared the body and context (webhooks.services.webhook_bodies_prune);
    # the row and its event key stay, so a late re-delivery is still a duplicate.
    body_pruned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_key"], name="webhooks_event_unique_key"
            )
        ]
        # The queue: only events still waiting, so the workers' claim reads a small index
        # however many processed events the table keeps.
        indexes = [
            models.Index(
                fields=["id"], condition=Q(status="received"), name="webhooks_event_waiting"
            )
        ]
        permissions = [("reprocess_webhookevent", "Can reprocess or resolve webhook events")]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type or '(malformed)'} {self.event_key[:12]}"
