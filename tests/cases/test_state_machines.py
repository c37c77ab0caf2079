"""Case and prescription state machines driven by MDI events, whatever the delivery order."""

import pytest

from cases.models import (
    CaseStatus,
    CaseTimelineEntry,
    Notification,
    Prescription,
    PrescriptionStatus,
    TimelineOutcome,
)
from tests.cases.factories import CaseFactory
from tests.payments.factories import requested_payment_moves

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(db):
    return CaseFactory()


def _status(case) -> str:
    case.refresh_from_db()
    return case.status


def test_the_happy_path_in_order(case, deliver):
    for t, event_type in enumerate(
        [
            "case_created",
            "case_assigned_to_clinician",
            "case_approved",
            "case_processing",
            "offering_submitted",
            "case_completed",
        ]
    ):
        deliver(event_type, case, timestamp=100 + t)
    assert _status(case) == CaseStatus.PRESCRIPTION_SENT
    assert case.prescription.status == PrescriptionStatus.WRITTEN
    assert requested_payment_moves(case.payment) == ["capture"]
    assert set(Notification.objects.values_list("kind", flat=True)) == {
        "approved",
        "prescription_sent",
    }


def test_a_late_assignment_does_not_reopen_an_approved_case(deliver):
    case = CaseFactory(approved=True)
    deliver("case_assigned_to_clinician", case, timestamp=50)
    assert _status(case) == CaseStatus.APPROVED
    entry = CaseTimelineEntry.objects.get()
    assert (entry.outcome, entry.from_status, entry.to_status) == (
        TimelineOutcome.STALE,
        "approved",
        "approved",
    )


def test_within_review_the_later_mdi_timestamp_wins(case, deliver):
    deliver("case_assigned_to_clinician", case, timestamp=110)
    deliver("case_assigned_to_clinician", case, timestamp=130)  # re-assigned after the reply
    deliver("case_waiting", case, timestamp=120)  # the older request, delivered late
    assert _status(case) == CaseStatus.UNDER_REVIEW
    assert CaseTimelineEntry.objects.filter(outcome=TimelineOutcome.STALE).count() == 1
    assert not Notification.objects.filter(kind="more_info_requested").exists()
    deliver("case_waiting", case, timestamp=140)
    assert _status(case) == CaseStatus.MORE_INFO_REQUESTED
    assert Notification.objects.filter(kind="more_info_requested").count() == 1


def test_the_same_approval_resent_with_a_new_timestamp_charges_and_notifies_once(case, deliver):
    deliver("case_approved", case, timestamp=200)
    deliver("case_approved", case, timestamp=203)  # the clinician clicked twice
    deliver("case_processing", case, timestamp=206)
    assert requested_payment_moves(case.payment) == ["capture"]
    assert Notification.objects.filter(kind="approved").count() == 1
    assert CaseTimelineEntry.objects.filter(outcome=TimelineOutcome.DUPLICATE).count() == 2


def test_a_decline_keeps_its_reason_releases_once_and_is_final(case, deliver, fake_mdi):
    fake_mdi.cancels(case.mdi_case_id, reason="Not a candidate for finasteride")
    deliver("case_cancelled", case, timestamp=300, reason="Not a candidate for finasteride")
    deliver("case_cancelled", case, timestamp=301, reason="Not a candidate for finasteride")
    deliver("case_approved", case, timestamp=290)
    case.refresh_from_db()
    assert (case.status, case.decline_reason) == (
        CaseStatus.DECLINED,
        "Not a candidate for finasteride",
    )
    assert requested_payment_moves(case.payment) == ["release"]
    assert Notification.objects.filter(kind="declined").count() == 1


def test_skipping_straight_to_prescription_sent_still_counts_as_approval(case, deliver):
    deliver("case_completed", case, timestamp=400)
    assert _status(case) == CaseStatus.PRESCRIPTION_SENT
    assert requested_payment_moves(case.payment) == ["capture"]
    assert set(Notification.objects.values_list("kind", flat=True)) == {
        "approved",
        "prescription_sent",
    }


def test_pharmacy_events_move_the_prescription_and_parse_tracking(case, deliver):
    deliver("offering_submitted", case, timestamp=500, offerings=[{"name": "Finasteride 1 mg"}])
    deliver("case_order_created", case, timestamp=510, order_status="draft")
    deliver(
        "order_status_changed",
        case,
        timestamp=520,
        order_status="received",
        order_details="At pharmacy",
    )
    deliver("order_tracking_number_changed", case, timestamp=530, order_status="received",
            order_details="Carrier: UPS\nTracking Number: 1Z999AA10123456784")  # fmt: skip
    prescription = Prescription.objects.get(case=case)
    assert prescription.status == PrescriptionStatus.SHIPPED
    assert (prescription.tracking_number, prescription.carrier) == ("1Z999AA10123456784", "UPS")
    deliver("order_status_changed", case, timestamp=525, order_status="ready")  # late: stale
    deliver("case_order_updated", case, timestamp=540, order_status="completed")
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.DELIVERED
    assert set(
        Notification.objects.filter(kind__in=["shipped", "delivered"]).values_list(
            "kind", flat=True
        )
    ) == {"shipped", "delivered"}


def test_a_structured_tracking_number_on_case_order_updated_ships(case, deliver):
    deliver(
        "case_order_updated",
        case,
        timestamp=600,
        order_status="received",
        tracking_number="9400111899223",
    )
    prescription = Prescription.objects.get(case=case)
    assert (prescription.status, prescription.tracking_number) == (
        PrescriptionStatus.SHIPPED,
        "9400111899223",
    )


def test_an_unknown_order_status_is_reported_not_guessed(case, deliver):
    deliver("order_status_changed", case, timestamp=700, order_status="teleported")
    prescription = Prescription.objects.get(case=case)
    assert prescription.status == PrescriptionStatus.WRITTEN
    entry = CaseTimelineEntry.objects.get(subject="prescription")
    assert entry.outcome == TimelineOutcome.UNKNOWN and "teleported" in entry.note


def test_status_cannot_be_assigned_directly(case):
    with pytest.raises(AttributeError):
        case.status = CaseStatus.APPROVED


def test_the_timeline_records_mdi_time_and_receipt_time(case, deliver):
    deliver("case_assigned_to_clinician", case, timestamp=1_700_000_000)
    entry = CaseTimelineEntry.objects.get()
    assert entry.occurred_at.timestamp() == 1_700_000_000
    assert entry.received_at >= entry.occurred_at
    assert entry.event.event_type == "case_assigned_to_clinician"


def test_a_superseded_request_for_information_is_in_the_history_but_sends_nothing(case, deliver):
    """MDI's request at 120 arrives after the clinician resumed at 130: the history shows both
    steps in MDI's order, the status stays under review, and no email asks the patient for
    something the clinician no longer needs."""
    from cases.selectors import case_timeline_for_patient

    deliver("case_assigned_to_clinician", case, timestamp=130)
    deliver("case_waiting", case, timestamp=120)
    assert _status(case) == CaseStatus.UNDER_REVIEW
    assert [step.status for step in case_timeline_for_patient(case=case)] == [
        CaseStatus.UNDER_REVIEW,
        CaseStatus.MORE_INFO_REQUESTED,
    ]
    assert not Notification.objects.filter(kind="more_info_requested").exists()
