"""Every read of cases for patients."""

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet

from cases.models import (
    CASE_PHASE,
    PRESCRIPTION_PHASE,
    ActionRequest,
    Case,
    CaseMessage,
    CaseStatus,
    CaseTimelineEntry,
    Offering,
    PrescriptionStatus,
    TimelineOutcome,
)
from core.security import get_owned_or_404
from intake.models import QuestionnaireResponse, ResponseStatus
from patients.models import Patient
from payments.money import money_display

# What the patient's history shows: every status MDI reported, whether it moved the case
# (applied) or arrived after a newer one (stale) or repeated the current one (duplicate).
REPORTED = [TimelineOutcome.APPLIED, TimelineOutcome.STALE, TimelineOutcome.DUPLICATE]
_CASE_LABELS = dict(CaseStatus.choices)
_PRESCRIPTION_LABELS = dict(PrescriptionStatus.choices)


@dataclass(frozen=True)
class TimelineStep:
    subject: str  # "case" or "prescription"
    status: str
    label: str
    occurred_at: datetime.datetime | None


def case_get_for_patient(*, patient: Patient, case_id: str) -> Case:
    """The one way a view gets a Case: another patient's case is a 404, never a 403 (and a
    security event)."""
    return get_owned_or_404(
        Case.objects.select_related("prescription", "payment"),
        owner={"patient": patient},
        public_id=case_id,
    )


def _timeline_sql(*, limited: bool) -> tuple[str, list]:
    """The patient's history in one statement: entries in MDI's order (when it happened, else
    when we heard; the case before its prescription; then the status's phase, the event type
    and the row's own order), a repeat of the same subject's step before it dropped (LAG), newest
    first. Plain SQL that PostgreSQL and SQLite both run: built once, not compiled per view."""
    table = CaseTimelineEntry._meta.db_table

    def phases(mapping: dict) -> tuple[str, list]:
        whens = " ".join("WHEN %s THEN %s" for _ in mapping)
        return f"CASE reported_status {whens} ELSE 99 END", [
            value for status, number in mapping.items() for value in (str(status), number)
        ]

    case_phase, case_params = phases(CASE_PHASE)
    rx_phase, rx_params = phases(PRESCRIPTION_PHASE)
    keys = (
        "COALESCE(occurred_at, received_at) AS k_when,"
        " CASE WHEN subject = 'case' THEN 0 ELSE 1 END AS k_rx,"
        f" CASE WHEN subject = 'case' THEN {case_phase} ELSE {rx_phase} END AS k_phase"
    )
    order = ", ".join(
        f"{column} {{0}}"
        for column in (
            "k_when",
            "k_rx",
            "k_phase",
            "event_type",
            "occurred_at",
            "received_at",
            "id",
        )
    )
    # Only the model's table name and placeholders are formatted in; every value is a parameter.
    sql = (
        "SELECT id, subject, reported_status, occurred_at FROM ("  # noqa: S608
        "SELECT id, subject, reported_status, occurred_at, received_at, event_type, k_when,"
        " k_rx, k_phase, LAG(reported_status, 1, '') OVER (PARTITION BY subject ORDER BY"
        f" {order.format('ASC')}) AS before FROM (SELECT *, {keys} FROM {table}"
        " WHERE case_id = %s AND reported_status <> '' AND outcome IN"
        f" ({', '.join('%s' for _ in REPORTED)})) ranked) history"
        f" WHERE before <> reported_status ORDER BY {order.format('DESC')}"
    )
    if limited:
        sql += " LIMIT %s"
    return sql, [*case_params, *rx_params]


_TIMELINE_SQL = {limited: _timeline_sql(limited=limited) for limited in (False, True)}


def case_timeline_for_patient(*, case: Case, newest: int | None = None) -> list[TimelineStep]:
    """What MDI reported, newest first, in MDI's own time order whatever order the webhooks
    arrived in: the same events give the same history. A repeat of the step before it (a
    re-sent approval, `case_processing` after `case_approved`) is one step, at its first
    time. With `newest`, only that many of the newest steps. One query, whatever the number of
    events: the order and the repeats are worked out by the database, so only the steps
    returned are read."""
    sql, phase_params = _TIMELINE_SQL[newest is not None]
    params = [*phase_params, case.pk, *(str(outcome) for outcome in REPORTED)]
    if newest is not None:
        params.append(newest)
    return [
        TimelineStep(
            entry.subject,
            entry.reported_status,
            (_CASE_LABELS if entry.subject == "case" else _PRESCRIPTION_LABELS).get(
                entry.reported_status, entry.reported_status
            ),
            entry.occurred_at,
        )
        for entry in CaseTimelineEntry.objects.raw(sql, params)
    ]


def cases_for_patient(*, patient: Patient) -> QuerySet[Case]:
    """Every visit of the patient, newest first, with what the dashboard shows of each."""
    return (
        Case.objects.filter(patient=patient)
        .select_related("prescription", "payment")
        .order_by("-created_at")
    )


def patient_has_visits(*, patient: Patient) -> bool:
    return Case.objects.filter(patient=patient).exists()


def intake_awaiting_checkout(*, patient: Patient) -> QuestionnaireResponse | None:
    """A finished intake not yet paid for (so no visit exists): the patient resumes at
    checkout instead of being handed a blank questionnaire."""
    return (
        QuestionnaireResponse.objects.filter(
            patient=patient, status=ResponseStatus.COMPLETED, case__isnull=True
        )
        .order_by("-completed_at")
        .first()
    )


def case_conversation(*, case: Case) -> QuerySet[CaseMessage]:
    """The case's messages, oldest first (ours by when we sent them, theirs by MDI's time)."""
    return case.messages.order_by("sent_at", "created_at", "pk")


# How much of a visit's history its page shows at first: the newest messages and steps. A
# visit with a thousand of each would otherwise render (and decrypt) all of them on every
# view and every reload; the rest is one link away.
VISIT_HISTORY_SHOWN = 20


def case_conversation_recent(
    *, case: Case, limit: int = VISIT_HISTORY_SHOWN
) -> tuple[list[CaseMessage], bool]:
    """The newest `limit` messages, oldest first as the conversation reads, and whether older
    ones exist. One query, whatever the number of messages; only those shown are decrypted."""
    newest = list(case.messages.order_by("-sent_at", "-created_at", "-pk")[: limit + 1])
    return newest[:limit][::-1], len(newest) > limit


def case_message_get_for_patient(*, patient: Patient, case: Case, message_id: int) -> CaseMessage:
    """One message of the patient's own case: anyone else's is a 404 (and a security event)."""
    return get_owned_or_404(
        CaseMessage.objects.select_related("case"),
        owner={"case": case, "case__patient": patient},
        pk=message_id,
    )


def case_open_action_requests(*, patient: Patient) -> QuerySet[ActionRequest]:
    """What the clinician is still waiting for from this patient, oldest first."""
    return (
        ActionRequest.objects.filter(case__patient=patient, closed_at__isnull=True)
        .select_related("case")
        .order_by("opened_at", "pk")
    )


def action_request_get_for_patient(*, patient: Patient, action_id: int) -> ActionRequest:
    """The one way a view gets a request: another patient's is a 404, never a 403 (and a
    security event)."""
    return get_owned_or_404(
        ActionRequest.objects.select_related("case__patient"),
        owner={"case__patient": patient},
        pk=action_id,
    )


@dataclass(frozen=True)
class OfferingSummary:
    name: str
    description: str
    price: str  # "" when no price is set yet: the page then names no amount
    questionnaire_slug: str  # its "Start a visit" begins this questionnaire


def offerings_for_home() -> list[OfferingSummary]:
    """What the brand treats, for the public landing page: one query, whatever the count."""
    return [
        OfferingSummary(
            name=offering.name,
            description=offering.description,
            price=(
                money_display(amount=offering.price_minor, currency=offering.currency)
                if offering.price_minor
                else ""
            ),
            questionnaire_slug=offering.questionnaire_slug,
        )
        for offering in Offering.objects.filter(is_active=True).order_by("name", "pk")
    ]
