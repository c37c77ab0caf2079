"""Cases and prescriptions, and the one place each state machine is declared.

Status only moves when MDI says so (a webhook), never by time. Transition sources list every
earlier phase, so a late or replayed event can never move a case backwards; the services
decide, for the review phase, which of two alternating events is newer (MDI's timestamp).
"""

import uuid

from django.db import models
from django_fsm import FSMField, FSMModelMixin, transition

from core.models import TimeStampedModel


class CaseStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    UNDER_REVIEW = "under_review", "Under review"
    MORE_INFO_REQUESTED = "more_info_requested", "More information requested"
    WITH_SUPPORT = "with_support", "With support"
    APPROVED = "approved", "Approved"
    PRESCRIPTION_SENT = "prescription_sent", "Prescription sent"
    DECLINED = "declined", "Declined"
    CANCELLED = "cancelled", "Cancelled"


REVIEW_STATES = [CaseStatus.UNDER_REVIEW, CaseStatus.MORE_INFO_REQUESTED, CaseStatus.WITH_SUPPORT]
CASE_TERMINAL = frozenset({CaseStatus.DECLINED, CaseStatus.CANCELLED})
# Phases are ordered; within the review phase the states alternate (newest MDI event wins).
CASE_PHASE = {
    CaseStatus.SUBMITTED: 0,
    CaseStatus.UNDER_REVIEW: 1,
    CaseStatus.MORE_INFO_REQUESTED: 1,
    CaseStatus.WITH_SUPPORT: 1,
    CaseStatus.APPROVED: 2,
    CaseStatus.PRESCRIPTION_SENT: 3,
}
REVIEW_PHASE = 1

# MDI case event -> the status it reports. The one table (reference §8.3, §5.3).
MDI_CASE_EVENTS: dict[str, str] = {
    "case_created": CaseStatus.SUBMITTED,
    "case_assigned_to_clinician": CaseStatus.UNDER_REVIEW,
    "case_waiting": CaseStatus.MORE_INFO_REQUESTED,
    "case_transferred_to_support": CaseStatus.WITH_SUPPORT,
    # Disputed (§5.3): S4 saw it fire on approval, S1 says it asks the partner to review a
    # dose change. We follow S4; to follow S1 instead, map it to CaseStatus.WITH_SUPPORT.
    "case_approved": CaseStatus.APPROVED,
    "case_processing": CaseStatus.APPROVED,
    "case_completed": CaseStatus.PRESCRIPTION_SENT,
    "offering_submitted": CaseStatus.PRESCRIPTION_SENT,
    "prescription_submitted": CaseStatus.PRESCRIPTION_SENT,  # legacy name
    "case_cancelled": CaseStatus.DECLINED,  # MDI has no "declined": a refusal ends as cancelled
}


class SubmissionStatus(models.TextChoices):
    """Our own delivery of the case to MDI; separate from the clinical status MDI reports."""

    PENDING = "pending", "Waiting to be sent to MDI"
    SENT = "sent", "Sent to MDI"
    FAILED = "failed", "Sending failed (support can retry)"


class Offering(models.Model):
    """What the clinician is asked to review for a questionnaire (MDI `case_offerings`)."""

    name = models.CharField(max_length=200)
    mdi_offering_id = models.CharField("MDI offering id", max_length=64)
    questionnaire_slug = models.SlugField(
        max_length=80, help_text="The intake this offering belongs to."
    )
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class Case(FSMModelMixin, TimeStampedModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="cases")
    # One case per completed intake; a second submission of the same answers reuses it.
    intake_response = models.OneToOneField(
        "intake.QuestionnaireResponse",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="case",
    )
    submission_status = models.CharField(
        max_length=16, choices=SubmissionStatus.choices, default=SubmissionStatus.PENDING
    )
    submission_attempts = models.PositiveIntegerField(default=0)
    submission_error = models.TextField(blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    mdi_case_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    status = FSMField(choices=CaseStatus.choices, default=CaseStatus.SUBMITTED, protected=True)
    decline_reason = models.TextField(blank=True)
    # The newest review-phase event applied: MDI's timestamp, then the event key as tie-break.
    review_event_timestamp = models.BigIntegerField(null=True, blank=True)
    review_event_key = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("retry_case_submission", "Can retry sending a case to MDI")]

    def __str__(self) -> str:
        return f"Case {self.public_id}"

    # --- the case state machine -------------------------------------------------------------
    @transition(
        field=status,
        source=[CaseStatus.SUBMITTED, CaseStatus.MORE_INFO_REQUESTED, CaseStatus.WITH_SUPPORT],
        target=CaseStatus.UNDER_REVIEW,
    )
    def begin_review(self) -> None: ...

    @transition(
        field=status,
        source=[CaseStatus.SUBMITTED, CaseStatus.UNDER_REVIEW, CaseStatus.WITH_SUPPORT],
        target=CaseStatus.MORE_INFO_REQUESTED,
    )
    def request_more_information(self) -> None: ...

    @transition(
        field=status,
        source=[CaseStatus.SUBMITTED, CaseStatus.UNDER_REVIEW, CaseStatus.MORE_INFO_REQUESTED],
        target=CaseStatus.WITH_SUPPORT,
    )
    def transfer_to_support(self) -> None: ...

    @transition(
        field=status, source=[CaseStatus.SUBMITTED, *REVIEW_STATES], target=CaseStatus.APPROVED
    )
    def approve(self) -> None: ...

    @transition(
        field=status,
        source=[CaseStatus.SUBMITTED, *REVIEW_STATES, CaseStatus.APPROVED],
        target=CaseStatus.PRESCRIPTION_SENT,
    )
    def send_prescription(self) -> None: ...

    @transition(
        field=status,
        source=[
            CaseStatus.SUBMITTED,
            *REVIEW_STATES,
            CaseStatus.APPROVED,
            CaseStatus.PRESCRIPTION_SENT,
        ],
        target=CaseStatus.DECLINED,
    )
    def decline(self) -> None: ...

    @transition(field=status, source=[CaseStatus.SUBMITTED], target=CaseStatus.CANCELLED)
    def cancel(self) -> None: ...


CASE_TRANSITIONS = {
    CaseStatus.UNDER_REVIEW: "begin_review",
    CaseStatus.MORE_INFO_REQUESTED: "request_more_information",
    CaseStatus.WITH_SUPPORT: "transfer_to_support",
    CaseStatus.APPROVED: "approve",
    CaseStatus.PRESCRIPTION_SENT: "send_prescription",
    CaseStatus.DECLINED: "decline",
}


class PrescriptionStatus(models.TextChoices):
    WRITTEN = "written", "Prescription written"
    SENT_TO_PHARMACY = "sent_to_pharmacy", "Sent to pharmacy"
    FILLED = "filled", "Filled by pharmacy"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Pharmacy could not fill"
    CANCELLED = "cancelled", "Cancelled"


PRESCRIPTION_PHASE = {
    PrescriptionStatus.WRITTEN: 0,
    PrescriptionStatus.SENT_TO_PHARMACY: 1,
    PrescriptionStatus.FILLED: 2,
    PrescriptionStatus.SHIPPED: 3,
    PrescriptionStatus.DELIVERED: 4,
}
PRESCRIPTION_TERMINAL = frozenset({PrescriptionStatus.FAILED, PrescriptionStatus.CANCELLED})
_BEFORE_SHIPPING = [
    PrescriptionStatus.WRITTEN,
    PrescriptionStatus.SENT_TO_PHARMACY,
    PrescriptionStatus.FILLED,
]

# MDI order status -> ours (reference §9: not a closed list; unknown values are reported, never
# guessed). "draft"/"new"/"pending" are orders not yet at the pharmacy: still just written.
MDI_ORDER_STATUSES: dict[str, str] = {
    "draft": PrescriptionStatus.WRITTEN,
    "new": PrescriptionStatus.WRITTEN,
    "pending": PrescriptionStatus.WRITTEN,
    "received": PrescriptionStatus.SENT_TO_PHARMACY,
    "processing": PrescriptionStatus.SENT_TO_PHARMACY,
    "ready": PrescriptionStatus.FILLED,
    "fulfilled": PrescriptionStatus.FILLED,
    "shipped": PrescriptionStatus.SHIPPED,
    "completed": PrescriptionStatus.DELIVERED,
    "delivered": PrescriptionStatus.DELIVERED,
    "failed": PrescriptionStatus.FAILED,
    "cancelling": PrescriptionStatus.CANCELLED,
    "cancelled": PrescriptionStatus.CANCELLED,
}
MDI_PRESCRIPTION_EVENTS = frozenset(
    {
        "offering_submitted",
        "case_order_created",
        "case_order_updated",
        "order_status_changed",
        "order_tracking_number_changed",
    }
)


class Prescription(FSMModelMixin, TimeStampedModel):
    """The treatment MDI's clinician wrote and its pharmacy order, one per case."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="prescription")
    status = FSMField(
        choices=PrescriptionStatus.choices, default=PrescriptionStatus.WRITTEN, protected=True
    )
    mdi_order_status = models.CharField(max_length=32, blank=True)
    tracking_number = models.CharField(max_length=64, blank=True)
    carrier = models.CharField(max_length=32, blank=True)

    def __str__(self) -> str:
        return f"Prescription for {self.case}"

    # --- the prescription state machine -----------------------------------------------------
    @transition(
        field=status, source=PrescriptionStatus.WRITTEN, target=PrescriptionStatus.SENT_TO_PHARMACY
    )
    def send_to_pharmacy(self) -> None: ...

    @transition(
        field=status,
        source=[PrescriptionStatus.WRITTEN, PrescriptionStatus.SENT_TO_PHARMACY],
        target=PrescriptionStatus.FILLED,
    )
    def fill(self) -> None: ...

    @transition(field=status, source=_BEFORE_SHIPPING, target=PrescriptionStatus.SHIPPED)
    def ship(self) -> None: ...

    @transition(
        field=status,
        source=[*_BEFORE_SHIPPING, PrescriptionStatus.SHIPPED],
        target=PrescriptionStatus.DELIVERED,
    )
    def deliver(self) -> None: ...

    @transition(field=status, source=_BEFORE_SHIPPING, target=PrescriptionStatus.FAILED)
    def fail(self) -> None: ...

    @transition(field=status, source=_BEFORE_SHIPPING, target=PrescriptionStatus.CANCELLED)
    def cancel(self) -> None: ...


PRESCRIPTION_TRANSITIONS = {
    PrescriptionStatus.SENT_TO_PHARMACY: "send_to_pharmacy",
    PrescriptionStatus.FILLED: "fill",
    PrescriptionStatus.SHIPPED: "ship",
    PrescriptionStatus.DELIVERED: "deliver",
    PrescriptionStatus.FAILED: "fail",
    PrescriptionStatus.CANCELLED: "cancel",
}


class TimelineOutcome(models.TextChoices):
    APPLIED = "applied", "Applied"
    STALE = "stale", "Ignored: older than the current state"
    DUPLICATE = "duplicate", "Ignored: already in this state"
    UNKNOWN = "unknown", "Not understood (reported to support)"


class CaseTimelineEntry(models.Model):
    """What MDI said about a case, when it said it happened, and what we did with it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="timeline")
    event = models.ForeignKey("webhooks.WebhookEvent", on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(max_length=16, default="case")  # "case" or "prescription"
    event_type = models.CharField(max_length=64)
    outcome = models.CharField(max_length=16, choices=TimelineOutcome.choices)
    from_status = models.CharField(max_length=32, blank=True)
    to_status = models.CharField(max_length=32, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["occurred_at", "received_at", "pk"]
        verbose_name_plural = "case timeline entries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "subject"], name="cases_timeline_once_per_event"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} ({self.outcome})"

    @property
    def to_status_label(self) -> str:
        labels = dict(CaseStatus.choices if self.subject == "case" else PrescriptionStatus.choices)
        return labels.get(self.to_status, self.to_status)


class Notification(models.Model):
    """One message to the patient per transition it announces; `key` makes a second one
    impossible (a duplicate or re-sent event adds none). Sent by the dashboard issue."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notifications")
    key = models.CharField(max_length=160, unique=True)
    kind = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.key
