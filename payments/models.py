"""Payments, and the one place their state machine is declared.

A payment belongs to the checkout of one completed intake; it knows nothing of cases. The
card is authorized at checkout, captured only when a clinician approves, released when the
visit ends otherwise, and refunded (in full, once) when a charged visit is later cancelled or
support refunds it. Amounts are integer minor units, never negative.
"""

import uuid

from django.db import models
from django_fsm import FSMField, FSMModelMixin, transition

from core.models import TimeStampedModel
from payments.money import money_display


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the card"
    AUTHORIZED = "authorized", "Authorized (hold on the card)"
    CAPTURED = "captured", "Charged"
    RELEASED = "released", "Hold released"
    FAILED = "failed", "Card declined or checkout failed"
    REFUNDED = "refunded", "Refunded"
    EXPIRED = "expired", "Hold expired"


class Payment(FSMModelMixin, TimeStampedModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    # One checkout per completed intake: a second click reuses it, never a second hold.
    intake_response = models.OneToOneField(
        "intake.QuestionnaireResponse", on_delete=models.PROTECT, related_name="payment"
    )
    amount = models.PositiveIntegerField(help_text="In minor units (cents).")
    currency = models.CharField(max_length=3)
    gateway = models.CharField(max_length=16)
    checkout_session_id = models.CharField(max_length=255, blank=True, db_index=True)
    checkout_url = models.CharField(max_length=500, blank=True)
    checkout_attempts = models.PositiveIntegerField(default=0)
    gateway_payment_id = models.CharField(max_length=255, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    status = FSMField(choices=PaymentStatus.choices, default=PaymentStatus.PENDING, protected=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    authorized_at = models.DateTimeField(null=True, blank=True)
    captured_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    # Card networks drop an uncaptured hold after about a week (PAYMENT_HOLD_DAYS).
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    hold_expiry_flagged_at = models.DateTimeField(null=True, blank=True)
    # Asked for once, under the approving (or ending) transaction; done by a task after commit.
    capture_requested_at = models.DateTimeField(null=True, blank=True)
    release_requested_at = models.DateTimeField(null=True, blank=True)
    release_error = models.TextField(blank=True)
    capture_attempts = models.PositiveIntegerField(default=0)
    capture_error = models.TextField(blank=True)
    capture_failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("refund_payment", "Can refund a payment")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="payments_amount_positive"
            )
        ]

    def __str__(self) -> str:
        return f"Payment {self.public_id} ({self.status})"

    @property
    def amount_display(self) -> str:
        return money_display(amount=self.amount, currency=self.currency)

    # --- the payment state machine ----------------------------------------------------------
    @transition(
        field=status,
        source=[PaymentStatus.PENDING, PaymentStatus.FAILED],
        target=PaymentStatus.PENDING,
    )
    def start_checkout(self) -> None:
        self.checkout_attempts += 1
        self.failure_reason = ""

    @transition(field=status, source=PaymentStatus.PENDING, target=PaymentStatus.AUTHORIZED)
    def authorize(self) -> None: ...

    @transition(field=status, source=PaymentStatus.PENDING, target=PaymentStatus.FAILED)
    def fail(self) -> None: ...

    @transition(field=status, source=PaymentStatus.AUTHORIZED, target=PaymentStatus.CAPTURED)
    def capture(self) -> None: ...

    @transition(field=status, source=PaymentStatus.AUTHORIZED, target=PaymentStatus.RELEASED)
    def release(self) -> None: ...

    @transition(field=status, source=PaymentStatus.CAPTURED, target=PaymentStatus.REFUNDED)
    def refund(self) -> None: ...

    @transition(field=status, source=PaymentStatus.AUTHORIZED, target=PaymentStatus.EXPIRED)
    def expire(self) -> None: ...


class PaymentHistory(models.Model):
    """Every move of a payment, with why; append-only."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "payment history"

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"


# --- the sandbox processor's own tables (PAYMENTS_GATEWAY=sandbox) -----------------------------


class SandboxCheckout(models.Model):
    """A hosted checkout page of the local processor, like a Stripe Checkout Session."""

    session_id = models.CharField(max_length=64, unique=True)
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=200)
    reference = models.CharField(max_length=64)
    success_url = models.CharField(max_length=500)
    cancel_url = models.CharField(max_length=500)
    status = models.CharField(max_length=16, default="open")  # open, complete, declined
    authorization_id = models.CharField(max_length=64, blank=True)
    decline_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"sandbox checkout {self.session_id} ({self.status})"


class SandboxAuthorization(models.Model):
    """A hold on a sandbox card. Only the last four digits of the card are ever stored."""

    authorization_id = models.CharField(max_length=64, unique=True)
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    card_last4 = models.CharField(max_length=4)
    status = models.CharField(max_length=16, default="authorized")  # captured, voided, refunded
    captured_amount = models.PositiveIntegerField(default=0)
    refunded_amount = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"sandbox authorization {self.authorization_id} ({self.status})"


class SandboxIdempotencyKey(models.Model):
    """What the sandbox processor answered to a key, so a repeat gets the same answer and
    moves no money again, as a real processor's idempotency keys do."""

    key = models.CharField(max_length=255, unique=True)
    operation = models.CharField(max_length=32)
    result = models.CharField(max_length=255, blank=True)
    error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key
