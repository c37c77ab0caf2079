"""Every read of cases for patients."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from cases.models import Case, CaseTimelineEntry, TimelineOutcome
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
