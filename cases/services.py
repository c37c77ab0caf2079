"""Every write to cases and prescriptions, driven by MDI's webhooks."""

import json
import logging
import re
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django_fsm import can_proceed

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
    Prescription,
    PrescriptionStatus,
    TimelineOutcome,
)
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
