"""Applying MDI's webhook events to the case and prescription state machines.

An event is matched to a visit by the MDI case id it names. Our `metadata` (the visit's public
id) only links a visit that has no MDI case yet; an event naming another MDI case with our
metadata is a duplicate MDI case: recorded for support, cancelled at MDI, never applied.
"""

import json
import logging
import re
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django_fsm import can_proceed

from cases.mdi_client import MdiClient, MdiRequestError
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
    CancelledBy,
    Case,
    CaseStatus,
    CaseTimelineEntry,
    DuplicateMdiCase,
    Prescription,
    PrescriptionStatus,
    TimelineOutcome,
)
from cases.services.messages import case_action_requests_close
from cases.services.notifications import notification_request
from cases.services.submission import case_duplicate_record
from payments.services import payment_capture_request, payment_release_request
from webhooks.models import WebhookEvent
from webhooks.registry import EventNotReady

logger = logging.getLogger(__name__)

NOTIFY_PRESCRIPTION = {
    PrescriptionStatus.SHIPPED,
    PrescriptionStatus.DELIVERED,
    PrescriptionStatus.FAILED,
}
TRACKING = re.compile(r"tracking\s*(?:number|#)?\s*[:#]\s*([A-Za-z0-9-]{4,64})", re.IGNORECASE)
CARRIER = re.compile(r"(?:carrier|shipped\s+via|company)\s*:\s*([A-Za-z .-]{2,32})", re.IGNORECASE)


def _payload(event: WebhookEvent) -> dict[str, Any]:
    return json.loads(event.raw_body)


def _public_id(reference: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(reference.strip())
    except ValueError:
        return None


def _case_for_event(event: WebhookEvent) -> Case | DuplicateMdiCase:
    """The visit this event is about, locked; or the DuplicateMdiCase it names.

    Matched by the MDI case id (the event's stored external id). Only a visit with no MDI case
    yet is linked by our metadata (the webhook can beat our own save of the id); a visit
    already linked to another MDI case makes this one a duplicate. Unknown -> later.
    """
    mdi_case_id = event.external_id
    cases = Case.objects.select_for_update()
    if case := cases.filter(mdi_case_id=mdi_case_id).first():
        return case
    if duplicate := DuplicateMdiCase.objects.filter(mdi_case_id=mdi_case_id).first():
        return duplicate
    public_id = _public_id(event.reference)
    case = cases.filter(public_id=public_id).first() if public_id else None
    if case is None:
        raise EventNotReady(f"no case yet for MDI case {mdi_case_id}")
    if case.mdi_case_id is None:
        case.mdi_case_id = mdi_case_id
        case.save(update_fields=["mdi_case_id", "updated_at"])
        return case
    return case_duplicate_record(case=case, mdi_case_id=mdi_case_id, found_by="webhook")


def _record(
    case: Case,
    event: WebhookEvent,
    subject: str,
    outcome: str,
    before: str,
    after: str,
    note: str = "",
    reported: str = "",
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
                reported_status=reported,
                occurred_at=event.occurred_at,
                received_at=event.received_at,
                note=note[:255],
            )
    except IntegrityError:
        pass  # this event is already on the timeline (a reprocess after success)


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


def _apply_case_status(case: Case, event: WebhookEvent, target: str) -> str:
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
    if outcome == TimelineOutcome.APPLIED and target in CASE_TERMINAL:
        context = event.context or {}
        case.cancelled_by = context.get("cancelled_by") or CancelledBy.UNKNOWN
        if target == CaseStatus.DECLINED:
            case.decline_reason = str(context.get("reason") or "")[:2000]
    case.save()
    _record(case, event, "case", outcome, before, case.status, reported=target)
    if outcome == TimelineOutcome.APPLIED:
        _after_case_transition(case, event, before)
    return outcome


def _after_case_transition(case: Case, event: WebhookEvent, before: str) -> None:
    """Effects keyed on meaning: reaching approval (directly or by skipping to prescription
    sent) asks for one capture; ending otherwise asks for one release (or, after a capture,
    one refund); each announced once."""
    reached = CASE_PHASE.get(case.status, -1)
    if before == CaseStatus.MORE_INFO_REQUESTED or case.status in CASE_TERMINAL:
        # The clinician has what they needed (or the visit ended): no card asks any more.
        case_action_requests_close(case=case)
    if case.status in CASE_TERMINAL:
        # The payment is released however the visit ended; the message says how it ended.
        if case.payment_id:
            payment_release_request(payment=case.payment)
        notification_request(case=case, key=f"case:{case.pk}:{case.status}", kind=case.status)
        return
    if reached >= CASE_PHASE[CaseStatus.APPROVED]:
        if case.payment_id:
            payment_capture_request(payment=case.payment)
        notification_request(case=case, key=f"case:{case.pk}:approved", kind=CaseStatus.APPROVED)
    if case.status == CaseStatus.PRESCRIPTION_SENT:
        notification_request(
            case=case, key=f"case:{case.pk}:prescription_sent", kind=CaseStatus.PRESCRIPTION_SENT
        )
    if case.status == CaseStatus.MORE_INFO_REQUESTED:
        # Each real request is its own transition, identified by when MDI made it.
        notification_request(
            case=case,
            key=f"case:{case.pk}:more_info_requested:{event.provider_timestamp}",
            kind=CaseStatus.MORE_INFO_REQUESTED,
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


def _prescribed(payload: dict[str, Any]) -> dict[str, str]:
    """What was prescribed, as MDI's `offering_submitted` reports it (reference §8.3): the
    first offering's name and directions, and the product's strength, quantity, refills and
    pharmacy where given. Only what MDI said; nothing is inferred."""
    offerings = payload.get("offerings")
    if not isinstance(offerings, list) or not offerings or not isinstance(offerings[0], dict):
        return {}
    offering = offerings[0]
    product = offering.get("product") if isinstance(offering.get("product"), dict) else {}
    fields = {
        "medication": offering.get("name") or product.get("name"),
        "strength": product.get("strength") or product.get("dosage"),
        "directions": offering.get("directions") or product.get("directions"),
        "quantity": product.get("quantity"),
        "refills": product.get("refills"),
        "pharmacy": product.get("pharmacy_name") or offering.get("pharmacy_name"),
    }
    return {key: str(value)[:255] for key, value in fields.items() if value not in (None, "")}


def _apply_prescription(case: Case, event: WebhookEvent, payload: dict[str, Any]) -> str:
    prescription, _ = Prescription.objects.select_for_update().get_or_create(case=case)
    target, tracking, carrier = _order_target(event, payload)
    before = prescription.status
    if details := _prescribed(payload):  # the same offering from any re-send: same details
        prescription.details = details
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
    _record(case, event, "prescription", outcome, before, prescription.status, reported=target)
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
                notification_request(
                    case=case, key=f"prescription:{prescription.pk}:{status}", kind=status
                )
    return outcome


def _case_event_target(event: WebhookEvent) -> str:
    """The status an MDI case event reports. A cancellation is a clinical decline only when
    MDI's status history says a clinician made it (looked up before processing)."""
    target = MDI_CASE_EVENTS[event.event_type]
    if target == CaseStatus.CANCELLED and (event.context or {}).get("cancelled_by") == (
        CancelledBy.CLINICIAN
    ):
        return CaseStatus.DECLINED
    return target


def _record_duplicate_event(duplicate: DuplicateMdiCase, event: WebhookEvent) -> str:
    case = Case.objects.select_for_update().get(pk=duplicate.case_id)
    _record(
        case,
        event,
        "case",
        TimelineOutcome.DUPLICATE_MDI_CASE,
        case.status,
        case.status,
        f"MDI case {duplicate.mdi_case_id} duplicates {case.mdi_case_id}; not applied",
    )
    return TimelineOutcome.DUPLICATE_MDI_CASE


def case_apply_mdi_event(*, event: WebhookEvent) -> str:
    """Apply one MDI case or pharmacy event. Runs in the event's processing transaction with
    the case row locked. A stale event goes on the timeline as ignored and changes nothing;
    one naming a duplicate MDI case goes on it as such. Safe to call again for the same event:
    effects are keyed on what they mean."""
    if not event.external_id:  # nothing to match it by, now or later: support sees it
        return "no_mdi_case_id"
    subject = _case_for_event(event)
    if isinstance(subject, DuplicateMdiCase):
        return _record_duplicate_event(subject, event)
    case = subject
    outcomes = []
    if event.event_type in MDI_CASE_EVENTS:
        outcomes.append(_apply_case_status(case, event, _case_event_target(event)))
    if event.event_type in MDI_PRESCRIPTION_EVENTS:
        outcomes.append(_apply_prescription(case, event, _payload(event)))
    return (
        "applied"
        if TimelineOutcome.APPLIED in outcomes
        else (outcomes[0] if outcomes else "ignored")
    )


def _cancelled_by(user_type: str) -> str:
    r"""MDI's `user_type` is a model class name such as "App\Models\Clinician"."""
    lowered = user_type.lower()
    for who in (CancelledBy.CLINICIAN, CancelledBy.SUPPORT, CancelledBy.PARTNER):
        if who in lowered:
            return who
    return CancelledBy.UNKNOWN


def case_cancellation_lookup(*, event: WebhookEvent, client: MdiClient) -> dict[str, str]:
    """Before a `case_cancelled` event is applied: who cancelled, and why, from MDI's status
    history (the event itself does not say). Runs outside any transaction (a network call).
    MDI refusing the lookup leaves "unknown", which the patient reads as a neutral
    cancellation; an outage raises TransientError and the event is retried."""
    if not event.external_id:
        return {"cancelled_by": CancelledBy.UNKNOWN, "reason": ""}
    try:
        history = client.case_statuses(case_id=event.external_id)
    except MdiRequestError:
        return {"cancelled_by": CancelledBy.UNKNOWN, "reason": ""}
    cancellation = next((c for c in reversed(history) if c.name == "cancelled"), None)
    if cancellation is None:
        return {"cancelled_by": CancelledBy.UNKNOWN, "reason": ""}
    return {"cancelled_by": _cancelled_by(cancellation.user_type), "reason": cancellation.reason}
