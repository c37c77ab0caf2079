"""Every read of cases for patients."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from cases.models import ActionRequest, Case, CaseMessage, CaseTimelineEntry, TimelineOutcome
from patients.models import Patient


def case_get_for_patient(*, patient: Patient, case_id: str) -> Case:
    """The one way a view gets a Case: another patient's case is a 404, never a 403."""
    return get_object_or_404(
        Case.objects.select_related("prescription", "payment"), public_id=case_id, patient=patient
    )


def case_timeline_for_patient(*, case: Case) -> QuerySet[CaseTimelineEntry]:
    """What actually happened: applied events only (stale and duplicate ones are for support)."""
    return case.timeline.filter(outcome=TimelineOutcome.APPLIED).order_by(
        "occurred_at", "received_at", "pk"
    )


def case_conversation(*, case: Case) -> QuerySet[CaseMessage]:
    """The case's messages, oldest first (ours by when we sent them, theirs by MDI's time)."""
    return case.messages.order_by("sent_at", "created_at", "pk")


def case_message_get_for_patient(*, patient: Patient, case: Case, message_id: int) -> CaseMessage:
    """One message of the patient's own case: anyone else's is a 404."""
    return get_object_or_404(
        CaseMessage.objects.select_related("case"),
        pk=message_id,
        case=case,
        case__patient=patient,
    )


def case_open_action_requests(*, patient: Patient) -> QuerySet[ActionRequest]:
    """What the clinician is still waiting for from this patient, oldest first."""
    return (
        ActionRequest.objects.filter(case__patient=patient, closed_at__isnull=True)
        .select_related("case")
        .order_by("opened_at", "pk")
    )


def action_request_get_for_patient(*, patient: Patient, action_id: int) -> ActionRequest:
    """The one way a view gets a request: another patient's is a 404, never a 403."""
    return get_object_or_404(
        ActionRequest.objects.select_related("case__patient"), pk=action_id, case__patient=patient
    )
