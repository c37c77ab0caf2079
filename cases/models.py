"""Cases and prescriptions, and the one place each state machine is declared.

Status only moves when MDI says so (a webhook), never by time. Transition sources list every
earlier phase, so a late or replayed event can never move a case backwards; the services
decide, for the review phase, which of two alternating events is newer (MDI's timestamp).
"""

import datetime
import uuid

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django_fsm import FSMField, FSMModelMixin, transition

from core.fields import EncryptedJSONField, EncryptedTextField, PrivateFileNameField
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
    # MDI has no "declined": a clinician's refusal ends as cancelled, and so does a partner's
    # or MDI support's cancellation. The handler asks MDI who cancelled before it calls the
    # outcome a clinical decline (DECLINED); anything else stays a neutral CANCELLED.
    "case_cancelled": CaseStatus.CANCELLED,
}


class SubmissionStatus(models.TextChoices):
    """Our own delivery of the case to MDI; separate from the clinical status MDI reports."""

    PENDING = "pending", "Waiting to be sent to MDI"
    SENDING = "sending", "Being sent to MDI"
    SENT = "sent", "Sent to MDI"
    FAILED = "failed", "Sending failed (support can retry)"


# How long one sender owns a submission. Longer than a send can take (the task's hard time
# limit), so a live sender is never overtaken; a crashed one is taken over by the sweeper.
SUBMISSION_LEASE = datetime.timedelta(minutes=5)

UUID_VALIDATOR = RegexValidator(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    "MDI offering ids are UUIDs (from GET /v1/partner/offerings).",
)


def is_mdi_offering_id(value: str) -> bool:
    """The one test of an offering id, shared by the model, the send gate and the check."""
    return bool(UUID_VALIDATOR.regex.match(str(value)))


class CancelledBy(models.TextChoices):
    """Who MDI says cancelled a case (its status history's `user_type`)."""

    CLINICIAN = "clinician", "The clinician"
    SUPPORT = "support", "MDI support"
    PARTNER = "partner", "Us (the partner)"
    UNKNOWN = "unknown", "Not reported"


class Offering(models.Model):
    """What the clinician is asked to review for a questionnaire (MDI `case_offerings`)."""

    name = models.CharField(max_length=200)
    mdi_offering_id = models.CharField(
        "MDI offering id", max_length=64, validators=[UUID_VALIDATOR]
    )
    questionnaire_slug = models.SlugField(
        max_length=80, help_text="The intake this offering belongs to."
    )
    # What the patient is asked to authorize at checkout, captured only on approval.
    price_minor = models.PositiveIntegerField(
        "price (minor units)", default=0, help_text="In cents: 4900 is $49.00."
    )
    currency = models.CharField(max_length=3, default="usd")
    is_active = models.BooleanField(default=True)
    description = models.CharField(
        max_length=200, blank=True, help_text="One line for the public home page."
    )

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
    # The checkout that authorized this visit's card (payments knows nothing of cases).
    payment = models.OneToOneField(
        "payments.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submission_status = FSMField(
        choices=SubmissionStatus.choices, default=SubmissionStatus.PENDING, protected=True
    )
    submission_attempts = models.PositiveIntegerField(default=0)
    submission_error = models.TextField(blank=True)
    # The sender holding the submission owns it until then; past it, the sweeper takes over.
    submission_lease_expires_at = models.DateTimeField(null=True, blank=True)
    # A postponed send (MDI unavailable) is due again then; the sweeper enqueues it.
    submission_next_attempt_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    mdi_case_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    status = FSMField(choices=CaseStatus.choices, default=CaseStatus.SUBMITTED, protected=True)
    # The clinician's words about the patient's health: encrypted like the answers.
    decline_reason = EncryptedTextField(blank=True, default="")
    cancelled_by = models.CharField(max_length=16, choices=CancelledBy.choices, blank=True)
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

    @transition(
        field=status,
        source=[
            CaseStatus.SUBMITTED,
            *REVIEW_STATES,
            CaseStatus.APPROVED,
            CaseStatus.PRESCRIPTION_SENT,
        ],
        target=CaseStatus.CANCELLED,
    )
    def cancel(self) -> None: ...

    # --- the submission state machine (our delivery of the case to MDI) ----------------------
    def submission_lease_is_free(self) -> bool:
        """Pending and due, or held by a sender whose lease ran out (a crash, a lost task)."""
        now = timezone.now()
        if self.submission_status == SubmissionStatus.SENDING:
            return (
                self.submission_lease_expires_at is None or self.submission_lease_expires_at < now
            )
        due = self.submission_next_attempt_at
        return due is None or due <= now

    @transition(
        field=submission_status,
        source=[SubmissionStatus.PENDING, SubmissionStatus.SENDING],
        target=SubmissionStatus.SENDING,
        conditions=[submission_lease_is_free],
    )
    def submission_claim(self) -> None:
        self.submission_lease_expires_at = timezone.now() + SUBMISSION_LEASE
        self.submission_next_attempt_at = None
        self.submission_attempts += 1

    @transition(
        field=submission_status, source=SubmissionStatus.SENDING, target=SubmissionStatus.SENT
    )
    def submission_succeed(self) -> None:
        self.submission_lease_expires_at = None
        self.submission_error = ""
        self.submitted_at = timezone.now()

    @transition(
        field=submission_status, source=SubmissionStatus.SENDING, target=SubmissionStatus.PENDING
    )
    def submission_postpone(self, *, until: datetime.datetime, reason: str) -> None:
        self.submission_lease_expires_at = None
        self.submission_next_attempt_at = until
        self.submission_error = reason

    @transition(
        field=submission_status,
        source=[SubmissionStatus.PENDING, SubmissionStatus.SENDING],
        target=SubmissionStatus.FAILED,
    )
    def submission_fail(self, *, reason: str) -> None:
        self.submission_lease_expires_at = None
        self.submission_next_attempt_at = None
        self.submission_error = reason

    @transition(
        field=submission_status, source=SubmissionStatus.FAILED, target=SubmissionStatus.PENDING
    )
    def submission_requeue(self) -> None:
        self.submission_next_attempt_at = None


CASE_TRANSITIONS = {
    CaseStatus.UNDER_REVIEW: "begin_review",
    CaseStatus.MORE_INFO_REQUESTED: "request_more_information",
    CaseStatus.WITH_SUPPORT: "transfer_to_support",
    CaseStatus.APPROVED: "approve",
    CaseStatus.PRESCRIPTION_SENT: "send_prescription",
    CaseStatus.DECLINED: "decline",
    CaseStatus.CANCELLED: "cancel",
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
    # What MDI reported was prescribed (`offering_submitted`): name, strength, directions,
    # quantity, refills, pharmacy. Clinical, so encrypted; shown only to the patient.
    details = EncryptedJSONField(default=dict, blank=True)

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
    DUPLICATE_MDI_CASE = "duplicate_mdi_case", "Ignored: names a duplicate MDI case"


class CaseTimelineEntry(models.Model):
    """What MDI said about a case, when it said it happened, and what we did with it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="timeline")
    event = models.ForeignKey("webhooks.WebhookEvent", on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(max_length=16, default="case")  # "case" or "prescription"
    event_type = models.CharField(max_length=64)
    outcome = models.CharField(max_length=24, choices=TimelineOutcome.choices)
    from_status = models.CharField(max_length=32, blank=True)
    to_status = models.CharField(max_length=32, blank=True)
    # What the event reported, applied or not: a late event still takes its place in the
    # patient's history (ordered by MDI's time) without moving the status backwards.
    reported_status = models.CharField(max_length=32, blank=True)
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

    @property
    def reported_status_label(self) -> str:
        labels = dict(CaseStatus.choices if self.subject == "case" else PrescriptionStatus.choices)
        return labels.get(self.reported_status, self.reported_status)


class DuplicateMdiCase(TimeStampedModel):
    """A second MDI case carrying one visit's `metadata` (a create MDI performed late, after
    we had reconciled and created again). Never applied to the visit; cancelled at MDI so at
    most one case per visit stays active, and listed for support."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="duplicate_mdi_cases")
    mdi_case_id = models.CharField("duplicate MDI case id", max_length=64, unique=True)
    found_by = models.CharField(max_length=32)  # "listing", "create reply" or "webhook"
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_attempts = models.PositiveIntegerField(default=0)
    cancel_error = models.TextField(blank=True)
    next_cancel_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "duplicate MDI case"

    def __str__(self) -> str:
        return f"Duplicate MDI case {self.mdi_case_id}"


class NotificationKind(models.TextChoices):
    """What a message announces. The kind picks its wording; none of it is clinical."""

    SUBMITTED = "submitted", "Visit submitted"
    MORE_INFO_REQUESTED = "more_info_requested", "More information requested"
    MESSAGE = "message", "New message from the clinician"
    APPROVED = "approved", "Approved"
    PRESCRIPTION_SENT = "prescription_sent", "Prescription sent"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    DECLINED = "declined", "Declined"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Pharmacy could not fill"


class NotificationChannel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Sending failed (support can retry)"


class Notification(FSMModelMixin, models.Model):
    """One message to the patient per transition it announces and channel; `key` makes a
    second one impossible (a duplicate or re-sent event adds none). Created in the transaction
    of the change it announces, sent after commit by `notification_send_task`."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notifications")
    # "<what>:<pk>:<kind>[:<mdi timestamp>]", then ":sms" for the text message.
    key = models.CharField(max_length=160, unique=True)
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    channel = models.CharField(
        max_length=8, choices=NotificationChannel.choices, default=NotificationChannel.EMAIL
    )
    status = FSMField(
        choices=NotificationStatus.choices, default=NotificationStatus.PENDING, protected=True
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        permissions = [("retry_notification", "Can retry sending a notification")]

    def __str__(self) -> str:
        return self.key

    # --- the delivery state machine ---------------------------------------------------------
    @transition(field=status, source=NotificationStatus.PENDING, target=NotificationStatus.SENT)
    def mark_sent(self) -> None:
        self.sent_at = timezone.now()
        self.last_error = ""

    @transition(field=status, source=NotificationStatus.PENDING, target=NotificationStatus.FAILED)
    def mark_failed(self, *, reason: str) -> None:
        self.last_error = reason

    @transition(field=status, source=NotificationStatus.FAILED, target=NotificationStatus.PENDING)
    def requeue(self) -> None: ...


# --- messages with the care team ---------------------------------------------------------------
class MessageDirection(models.TextChoices):
    IN = "in", "To the patient"
    OUT = "out", "From the patient"


class MessageSender(models.TextChoices):
    CLINICIAN = "clinician", "Clinician"
    SUPPORT = "support", "Support"
    PATIENT = "patient", "Patient"


class MessageStatus(models.TextChoices):
    RECEIVED = "received", "Received"  # a message to the patient, as MDI reported it
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Not sent"


class CaseMessage(FSMModelMixin, TimeStampedModel):
    """One message of the patient's conversation with MDI's care team.

    Incoming rows exist only once MDI told us (message_created); outgoing rows exist before
    MDI has them (status sending) and get their `mdi_message_id` when the send succeeds or
    our reconciliation finds them at MDI. The unique id keeps an echo from becoming a copy.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    mdi_message_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    direction = models.CharField(max_length=3, choices=MessageDirection.choices)
    sender = models.CharField(max_length=16, choices=MessageSender.choices)
    text = EncryptedTextField(blank=True, default="")
    # When MDI says it was sent (for ours: our first send attempt, until MDI confirms).
    sent_at = models.DateTimeField(null=True, blank=True)
    status = FSMField(choices=MessageStatus.choices, default=MessageStatus.SENDING, protected=True)
    # An outgoing photo: sanitised and stored privately; uploaded to MDI once.
    photo_stored_name = PrivateFileNameField(blank=True)
    photo_mime_type = models.CharField(max_length=64, blank=True)
    mdi_file_id = models.CharField(max_length=64, blank=True)
    send_attempts = models.PositiveIntegerField(default=0)
    # A send whose outcome we never learned: MDI may hold it, so look before sending again.
    is_outcome_unknown = models.BooleanField(default=False)
    send_error = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["sent_at", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} message {self.mdi_message_id or self.pk}"

    @transition(field=status, source=MessageStatus.FAILED, target=MessageStatus.SENDING)
    def send_retry(self) -> None:
        self.send_error = ""

    @transition(
        field=status,
        source=[MessageStatus.SENDING, MessageStatus.FAILED],
        target=MessageStatus.SENT,
    )
    def send_succeed(self, *, mdi_message_id: str, sent_at: datetime.datetime | None) -> None:
        self.mdi_message_id = mdi_message_id
        self.sent_at = sent_at or self.sent_at
        self.is_outcome_unknown = False
        self.send_error = ""

    @transition(field=status, source=MessageStatus.SENDING, target=MessageStatus.FAILED)
    def send_fail(self, *, reason: str, outcome_unknown: bool) -> None:
        self.send_error = reason[:255]
        self.is_outcome_unknown = self.is_outcome_unknown or outcome_unknown


class ActionRequestKind(models.TextChoices):
    MORE_INFO = "more_info", "More information"
    FILE_UPLOAD = "file_upload", "A photo"
    DRIVERS_LICENSE = "drivers_license", "A clearer photo ID"


UPLOAD_KINDS = frozenset({ActionRequestKind.FILE_UPLOAD, ActionRequestKind.DRIVERS_LICENSE})


class ActionRequest(TimeStampedModel):
    """The clinician asked the patient for something (MDI's case_waiting, file_upload_requested,
    drivers_license_requested). Open until the upload reached MDI or the case moved on."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="action_requests")
    kind = models.CharField(max_length=16, choices=ActionRequestKind.choices)
    question = EncryptedTextField(blank=True, default="")
    # MDI's timestamp of the request: a replayed or re-sent event never opens a second one.
    requested_at = models.BigIntegerField(null=True, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The patient's answer for the upload kinds: the ID document, or a stored case photo.
    document = models.ForeignKey(
        "patients.IdentityDocument",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    stored_name = PrivateFileNameField(blank=True)
    mime_type = models.CharField(max_length=64, blank=True)
    mdi_file_id = models.CharField(max_length=64, blank=True)
    upload_error = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["opened_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.case}"

    @property
    def is_upload(self) -> bool:
        return self.kind in UPLOAD_KINDS
