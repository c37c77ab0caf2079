"""Every write to cases and prescriptions, driven by MDI's webhooks."""

import json
import logging
import re
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django_fsm import can_proceed

from cases.gateway import MdiGateway, MdiPatientEmailTaken
from cases.models import (
    CASE_PHASE,
    CASE_TERMINAL,
    CASE_TRANSITIONS,
    MDI_CASE_EVENTS,
    MDI_ORDER_STATUSES,
    MDI_PRESCRIPTION_EVENTS,
    PRESCRIPTION_PHASE,
    PRESCRIPTION_TERMINAL,
    PRESCRIPTION_TRANSITIONS,
    REVIEW_PHASE,
    Case,
    CaseStatus,
    CaseTimelineEntry,
    Notification,
    Offering,
    Prescription,
    PrescriptionStatus,
    SubmissionStatus,
    TimelineOutcome,
)
from cases.payloads import mdi_case_payload, mdi_case_questions, mdi_patient_payload
from core.exceptions import DomainError
from core.uploads import upload_open
from intake.models import QuestionnaireResponse, ResponseStatus
from intake.structure import version_structure_load
from intake.validation import validate_response
from patients.models import DocumentKind, Patient
from patients.selectors import patient_next_step
from payments.models import PaymentEffectKind
from payments.services import payment_effect_request
from webhooks.models import WebhookEvent
from webhooks.registry import EventNotReady

logger = logging.getLogger(__name__)

# Transitions the patient hears about; the key names the transition, so it is made once.
NOTIFY_CASE = {
    CaseStatus.MORE_INFO_REQUESTED,
    CaseStatus.APPROVED,
    CaseStatus.PRESCRIPTION_SENT,
    CaseStatus.DECLINED,
}
NOTIFY_PRESCRIPTION = {
    PrescriptionStatus.SHIPPED,
    PrescriptionStatus.DELIVERED,
    PrescriptionStatus.FAILED,
}
TRACKING = re.compile(r"tracking\s*(?:number|#)?\s*[:#]\s*([A-Za-z0-9-]{4,64})", re.IGNORECASE)
CARRIER = re.compile(r"(?:carrier|shipped\s+via|company)\s*:\s*([A-Za-z .-]{2,32})", re.IGNORECASE)


def _payload(event: WebhookEvent) -> dict[str, Any]:
    return json.loads(event.raw_body)


def _case_for_event(event: WebhookEvent, payload: dict[str, Any]) -> Case:
    """The case this event is about, locked. Matched by MDI's case id, else by our public id
    echoed in `metadata` (the webhook can beat our own save of the MDI id); unknown → later."""
    mdi_case_id = str(payload.get("case_id") or payload.get("encounter_id") or "")
    cases = Case.objects.select_for_update()
    case = cases.filter(mdi_case_id=mdi_case_id).first() if mdi_case_id else None
    if case is None:
        try:
            public_id = uuid.UUID(str(payload.get("metadata", "")).strip())
        except ValueError:
            public_id = None
        case = cases.filter(public_id=public_id).first() if public_id else None
        if case is not None and mdi_case_id and not case.mdi_case_id:
            case.mdi_case_id = mdi_case_id
            case.save(update_fields=["mdi_case_id", "updated_at"])
    if case is None:
        raise EventNotReady(f"no case yet for MDI case {mdi_case_id or '(none)'}")
    return case


def _record(
    case: Case,
    event: WebhookEvent,
    subject: str,
    outcome: str,
    before: str,
    after: str,
    note: str = "",
) -> None:
    try:
        with transaction.atomic():
            CaseTimelineEntry.objects.create(
                case=case,
                event=event,
                subject=subject,
                event_type=event.event_type,
                outcome=outcome,
                from_status=before,
                to_status=after,
                occurred_at=event.occurred_at,
                received_at=event.received_at,
                note=note[:255],
            )
    except IntegrityError:
        pass  # this event is already on the timeline (a reprocess after success)


def _notify(case: Case, key: str, kind: str) -> None:
    Notification.objects.get_or_create(key=key, defaults={"case": case, "kind": kind})


def _event_is_newer_in_review(case: Case, event: WebhookEvent) -> bool:
    """Within the review phase the later MDI timestamp wins; equal ones fall back to the
    event key, so every worker decides the same way."""
    if case.review_event_timestamp is None:
        return True
    mine = (event.provider_timestamp or 0, event.event_key)
    return mine > (case.review_event_timestamp, case.review_event_key)


def _move(
    obj: Case | Prescription, transitions: dict[str, str], target: str, *, stale: bool
) -> str:
    """Take the declared transition to `target` unless the event is stale or a repeat.
    The model's transition sources are the last word: a move they forbid is stale too."""
    if stale:
        return TimelineOutcome.STALE
    if target == obj.status:
        return TimelineOutcome.DUPLICATE
    move = getattr(obj, transitions[target])
    if not can_proceed(move):
        return TimelineOutcome.STALE
    move()
    return TimelineOutcome.APPLIED


def _apply_case_status(
    case: Case, event: WebhookEvent, target: str, payload: dict[str, Any]
) -> str:
    before = case.status
    phase_now, phase_target = CASE_PHASE.get(before), CASE_PHASE.get(target)
    if before in CASE_TERMINAL:  # declined and cancelled are final: nothing moves them
        stale = True
    elif target in CASE_TERMINAL:
        stale = False
    else:
        moves_back = phase_target < phase_now
        older_in_review = (
            phase_target == REVIEW_PHASE == phase_now and not _event_is_newer_in_review(case, event)
        )
        stale = moves_back or older_in_review
    outcome = _move(case, CASE_TRANSITIONS, target, stale=stale)
    if outcome != TimelineOutcome.STALE and phase_target == REVIEW_PHASE:
        # Same review state again (e.g. re-assigned) still advances the clock it is judged by.
        case.review_event_timestamp = event.provider_timestamp or 0
        case.review_event_key = event.event_key
    if outcome == TimelineOutcome.APPLIED and target == CaseStatus.DECLINED:
        reason = payload.get("reason") or (payload.get("case_status") or {}).get("reason") or ""
        case.decline_reason = str(reason)[:2000]
    case.save()
    _record(case, event, "case", outcome, before, case.status)
    if outcome == TimelineOutcome.APPLIED:
        _after_case_transition(case, event, before)
    return outcome


def _after_case_transition(case: Case, event: WebhookEvent, before: str) -> None:
    """Effects keyed on meaning: reaching approval (directly or by skipping to prescription
    sent) asks for one capture; a decline asks for one release; each announced once."""
    reached = CASE_PHASE.get(case.status, -1)
    if case.status in CASE_TERMINAL:
        payment_effect_request(case=case, kind=PaymentEffectKind.RELEASE)
        _notify(case, f"case:{case.pk}:declined", CaseStatus.DECLINED)
        return
    if reached >= CASE_PHASE[CaseStatus.APPROVED]:
        payment_effect_request(case=case, kind=PaymentEffectKind.CAPTURE)
        _notify(case, f"case:{case.pk}:approved", CaseStatus.APPROVED)
    if case.status == CaseStatus.PRESCRIPTION_SENT:
        _notify(case, f"case:{case.pk}:prescription_sent", CaseStatus.PRESCRIPTION_SENT)
    if case.status == CaseStatus.MORE_INFO_REQUESTED:
        # Each real request is its own transition, identified by when MDI made it.
        _notify(
            case,
            f"case:{case.pk}:more_info_requested:{event.provider_timestamp}",
            CaseStatus.MORE_INFO_REQUESTED,
        )


def _order_target(event: WebhookEvent, payload: dict[str, Any]) -> tuple[str | None, str, str]:
    """(target status or None if not understood, tracking number, carrier)."""
    details = str(payload.get("order_details") or "")
    tracking = str(payload.get("tracking_number") or "") or (
        m.group(1) if (m := TRACKING.search(details)) else ""
    )
    carrier = str(payload.get("carrier") or payload.get("tracking_company") or "") or (
        m.group(1).strip() if (m := CARRIER.search(details)) else ""
    )
    if event.event_type == "offering_submitted":
        return PrescriptionStatus.WRITTEN, tracking, carrier
    if event.event_type == "order_tracking_number_changed" or (
        tracking and event.event_type == "case_order_updated"
    ):
        return (PrescriptionStatus.SHIPPED if tracking else None), tracking, carrier
    status = str(payload.get("order_status") or payload.get("status") or "").strip().lower()
    return MDI_ORDER_STATUSES.get(status), tracking, carrier


def _apply_prescription(case: Case, event: WebhookEvent, payload: dict[str, Any]) -> str:
    prescription, _ = Prescription.objects.select_for_update().get_or_create(case=case)
    target, tracking, carrier = _order_target(event, payload)
    before = prescription.status
    if tracking:  # the same number from any event: setting it again changes nothing
        prescription.tracking_number = tracking[:64]
        prescription.carrier = (carrier or prescription.carrier)[:32]
    if target is None:
        raw = payload.get("order_status") or "(none)"
        logger.warning("unknown MDI order status on event %s", event.pk)
        prescription.save()
        _record(
            case,
            event,
            "prescription",
            TimelineOutcome.UNKNOWN,
            before,
            before,
            f"order status {raw!r} not understood",
        )
        return TimelineOutcome.UNKNOWN
    stale = before in PRESCRIPTION_TERMINAL or (
        PRESCRIPTION_PHASE.get(target, 99) < PRESCRIPTION_PHASE.get(before, 0)
    )
    outcome = _move(prescription, PRESCRIPTION_TRANSITIONS, target, stale=stale)
    if outcome != TimelineOutcome.STALE and payload.get("order_status"):
        prescription.mdi_order_status = str(payload["order_status"])[:32]
    prescription.save()
    _record(case, event, "prescription", outcome, before, prescription.status)
    if outcome == TimelineOutcome.APPLIED:
        # Reaching "delivered" directly still announces the shipment, as in-order delivery would.
        for status in (
            PrescriptionStatus.SHIPPED,
            PrescriptionStatus.DELIVERED,
            PrescriptionStatus.FAILED,
        ):
            reached = prescription.status == status or (
                status == PrescriptionStatus.SHIPPED
                and prescription.status == PrescriptionStatus.DELIVERED
            )
            if reached and status in NOTIFY_PRESCRIPTION:
                _notify(case, f"prescription:{prescription.pk}:{status}", status)
    return outcome


def case_apply_mdi_event(*, event: WebhookEvent) -> str:
    """Apply one MDI case or pharmacy event. Runs in the event's processing transaction with
    the case row locked. A stale event goes on the timeline as ignored and changes nothing.
    Safe to call again for the same event: effects are keyed on what they mean."""
    payload = _payload(event)
    case = _case_for_event(event, payload)
    outcomes = []
    if event.event_type in MDI_CASE_EVENTS:
        outcomes.append(_apply_case_status(case, event, MDI_CASE_EVENTS[event.event_type], payload))
    if event.event_type in MDI_PRESCRIPTION_EVENTS:
        outcomes.append(_apply_prescription(case, event, payload))
    return (
        "applied"
        if TimelineOutcome.APPLIED in outcomes
        else (outcomes[0] if outcomes else "ignored")
    )


# --- submission to MDI ------------------------------------------------------------------------


class CaseNotReady(DomainError):
    """The case cannot be sent: the intake is not complete or identity is missing."""


def case_ready_to_send(*, case: Case) -> None:
    """The one gate before anything reaches MDI. Raises CaseNotReady with the reason.

    The payments issue adds its condition here: "and the payment is authorized".
    """
    response = case.intake_response
    if response is None or response.status != ResponseStatus.COMPLETED:
        raise CaseNotReady("The intake is not complete.")
    if response.patient_id != case.patient_id:
        raise CaseNotReady("The intake belongs to another patient.")
    # Never trust an earlier validation: the whole response is checked again.
    result = validate_response(
        structure=version_structure_load(version=response.version),
        answers={k: v["value"] for k, v in response.answers.items()},
    )
    if not result.is_valid or result.disqualifications:
        raise CaseNotReady("The intake has answers that are missing or not allowed.")
    patient = case.patient
    if patient.identity_completed_at is None or patient_next_step(patient=patient):
        raise CaseNotReady("Identity details or the photo ID are missing.")


@transaction.atomic
def case_submit(*, patient: Patient, response: QuestionnaireResponse) -> Case:
    """Create the case for a completed intake (status submitted) before any call to MDI, then
    send it after commit. Submitting the same intake again returns the same case."""
    existing = Case.objects.filter(intake_response=response).first()
    if existing is not None:
        return existing
    case = Case(patient=patient, intake_response=response)
    case_ready_to_send(case=case)
    case.save()
    # A lambda, not functools.partial: Django logs a failing robust callback by __qualname__.
    transaction.on_commit(lambda case_id=case.pk: _enqueue_send(case_id), robust=True)
    return case


def _enqueue_send(case_id: int) -> None:
    from cases.tasks import case_send_to_mdi_task

    try:
        case_send_to_mdi_task.delay(case_id=case_id)
    except Exception:  # broker down: support sees the case pending and can retry it
        logger.warning("could not enqueue sending case %s to MDI", case_id)


def _ensure_mdi_patient(*, patient: Patient, gateway: MdiGateway) -> str:
    if patient.mdi_patient_id:
        return patient.mdi_patient_id
    email = patient.user.email
    try:
        mdi_patient_id = gateway.patient_create(
            payload=mdi_patient_payload(patient=patient, email=email)
        )
    except MdiPatientEmailTaken:
        # Created on an earlier attempt whose reply was lost (or by another integration).
        mdi_patient_id = gateway.patient_find_by_email(email=email)
        if not mdi_patient_id:
            raise
    Patient.objects.filter(pk=patient.pk).update(mdi_patient_id=mdi_patient_id)
    patient.mdi_patient_id = mdi_patient_id
    return mdi_patient_id


def _ensure_mdi_files(*, case: Case, gateway: MdiGateway) -> list[str]:
    """Upload the photo ID and intake attachments not yet in MDI, saving each id at once."""
    file_ids = []
    documents = [
        (doc, "driver-license", "photo-id")
        for doc in case.patient.documents.filter(kind=DocumentKind.PHOTO_ID)[:1]
    ]
    documents += [
        (attachment, "photo", attachment.link_id)
        for attachment in case.intake_response.attachments.all()
    ]
    for record, file_type, name in documents:
        if not record.mdi_file_id:
            mdi_file_id = gateway.file_upload(
                content=upload_open(name=record.stored_name),
                name=f"{name}{record.stored_name[record.stored_name.rfind('.') :]}",
                mime_type=record.mime_type,
                file_type=file_type,
            )
            type(record).objects.filter(pk=record.pk).update(mdi_file_id=mdi_file_id)
            record.mdi_file_id = mdi_file_id
        file_ids.append(record.mdi_file_id)
    return file_ids


def case_send_to_mdi(*, case_id: int, gateway: MdiGateway) -> Case:
    """Send a submitted case to MDI: patient, files, case. Safe to run again after a crash
    anywhere: every step saves its result before the next, and a case whose creation reply was
    lost is found again by its metadata (our public id) instead of being created twice.
    Network calls run outside any transaction; each save is its own short write."""
    case = Case.objects.select_related("patient__user", "intake_response__version").get(pk=case_id)
    if case.submission_status == SubmissionStatus.SENT:
        return case
    case_ready_to_send(case=case)
    Case.objects.filter(pk=case.pk).update(submission_attempts=F("submission_attempts") + 1)
    is_retry = case.submission_attempts > 0
    mdi_patient_id = _ensure_mdi_patient(patient=case.patient, gateway=gateway)
    file_ids = _ensure_mdi_files(case=case, gateway=gateway)
    mdi_case_id = case.mdi_case_id
    if not mdi_case_id and is_retry:
        mdi_case_id = gateway.patient_case_ids_by_metadata(patient_id=mdi_patient_id).get(
            str(case.public_id)
        )
    if not mdi_case_id:
        offerings = Offering.objects.filter(
            is_active=True, questionnaire_slug=case.intake_response.version.questionnaire.slug
        ).values_list("mdi_offering_id", flat=True)
        mdi_case_id = gateway.case_create(
            payload=mdi_case_payload(
                patient_id=mdi_patient_id,
                case_public_id=str(case.public_id),
                questions=mdi_case_questions(response=case.intake_response),
                file_ids=file_ids,
                offering_ids=list(offerings),
            )
        )
    # A webhook may have linked the MDI id already (matched by metadata): keep whichever is set.
    Case.objects.filter(pk=case.pk, mdi_case_id__isnull=True).update(mdi_case_id=mdi_case_id)
    Case.objects.filter(pk=case.pk).update(
        submission_status=SubmissionStatus.SENT, submitted_at=timezone.now(), submission_error=""
    )
    case.refresh_from_db()
    return case


def case_submission_mark_failed(*, case_id: int, reason: str) -> None:
    """MDI stayed unavailable past the retry budget, or refused: support sees why and retries."""
    Case.objects.filter(pk=case_id).exclude(submission_status=SubmissionStatus.SENT).update(
        submission_status=SubmissionStatus.FAILED, submission_error=reason[:2000]
    )


def case_submission_retry(*, case: Case) -> None:
    """Support's retry action: safe to repeat (sending is idempotent)."""
    if case.submission_status != SubmissionStatus.SENT:
        Case.objects.filter(pk=case.pk).update(submission_status=SubmissionStatus.PENDING)
        # A lambda, not functools.partial: Django logs a failing robust callback by __qualname__.
        transaction.on_commit(lambda case_id=case.pk: _enqueue_send(case_id), robust=True)
