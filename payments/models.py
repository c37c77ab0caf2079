from django.db import models


class PaymentEffectKind(models.TextChoices):
    CAPTURE = "capture", "Capture the authorized amount"
    RELEASE = "release", "Release the authorization"


class PaymentEffectStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class PaymentEffect(models.Model):
    """A capture or release a case outcome asked for: at most one of each kind per case.

    The unique constraint, not a check, is what stops a second capture; the gateway issue
    executes these rows with the row id as the gateway's idempotency key.
    """

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="payment_effects")
    kind = models.CharField(max_length=16, choices=PaymentEffectKind.choices)
    status = models.CharField(
        max_length=16, choices=PaymentEffectStatus.choices, default=PaymentEffectStatus.REQUESTED
    )
    requested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind"], name="payments_one_effect_per_case_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} for case {self.case_id} ({self.status})"
