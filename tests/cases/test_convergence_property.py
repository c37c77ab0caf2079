"""Property: any delivery schedule of a realistic MDI event stream (any order, duplicates,
re-sends with new timestamps) ends where one in-order delivery ends: the same states, the same
payment moves, the same notifications and the same history shown to the patient."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.models import Notification, Prescription
from cases.selectors import case_timeline_for_patient
from tests.cases.factories import CaseFactory
from tests.payments.factories import requested_payment_moves
from tests.webhooks.helpers import AUTHORIZATION as AUTH
from tests.webhooks.helpers import SECRET, mdi_body
from webhooks.providers import mdi_sign
from webhooks.services import webhook_event_process, webhook_receive_mdi

# (event type, MDI timestamp, extra fields): the lives a case really has (reference §8, §9).
APPROVED_LIFE = [
    ("case_created", 100, {}),
    ("case_assigned_to_clinician", 110, {}),
    ("case_waiting", 120, {}),
    ("case_assigned_to_clinician", 130, {}),
    ("case_approved", 140, {}),
    ("case_processing", 143, {}),
    ("offering_submitted", 150, {}),
    ("case_completed", 160, {}),
    ("case_order_created", 170, {"order_status": "draft"}),
    ("order_status_changed", 180, {"order_status": "received"}),
    (
        "order_tracking_number_changed",
        190,
        {"order_status": "received", "order_details": "Tracking Number: 1Z42"},
    ),
    ("order_status_changed", 200, {"order_status": "completed"}),
]
DECLINED_LIFE = [
    ("case_created", 100, {}),
    ("case_assigned_to_clinician", 110, {}),
    ("case_waiting", 120, {}),
    ("case_transferred_to_support", 125, {}),
    ("case_assigned_to_clinician", 130, {}),
    ("case_cancelled", 140, {"reason": "Not a candidate"}),
]
STILL_IN_REVIEW = [
    ("case_created", 100, {}),
    ("case_assigned_to_clinician", 110, {}),
    ("case_waiting", 120, {}),
    ("case_assigned_to_clinician", 130, {}),
    ("case_waiting", 140, {}),
]
LIVES = {"approved": APPROVED_LIFE, "declined": DECLINED_LIFE, "in_review": STILL_IN_REVIEW}


def _deliver(case, event_type: str, timestamp: int, extra: dict) -> None:
    body = mdi_body(
        event_type,
        timestamp=timestamp,
        case_id=case.mdi_case_id,
        metadata=str(case.public_id),
        **extra,
    )
    headers = {"Authorization": AUTH, "Signature": mdi_sign(body=body, secret=SECRET)}
    result = webhook_receive_mdi(body=body, headers=headers, client_ip="127.0.0.1")
    assert result.status_code == 200
    # The worker runs right after the delivery (inside a test transaction on_commit never fires).
    webhook_event_process(event_id=result.delivery.event_id)


def _outcome(case) -> dict:
    case.refresh_from_db()
    prescription = Prescription.objects.filter(case=case).first()
    keys = list(Notification.objects.filter(case=case).values_list("key", flat=True))
    return {
        "case": case.status,
        "prescription": prescription.status if prescription else None,
        "tracking": prescription.tracking_number if prescription else None,
        "effects": requested_payment_moves(case.payment),
        "forward_notifications": sorted(k.split(":", 2)[-1] for k in keys if "more_info" not in k),
        "duplicate_notifications": len(keys) - len(set(keys)),
        # What the patient reads: every step MDI reported, at MDI's time, in MDI's order.
        "timeline": [
            (step.subject, step.status, step.occurred_at)
            for step in case_timeline_for_patient(case=case)
        ],
    }


def _new_case(fake_mdi):
    """A linked case whose MDI status history says a clinician cancelled it if it is."""
    case = CaseFactory()
    fake_mdi.cancels(case.mdi_case_id, reason="Not a candidate")
    return case


def _in_order(life, fake_mdi) -> dict:
    case = _new_case(fake_mdi)
    for event_type, timestamp, extra in life:
        _deliver(case, event_type, timestamp, extra)
    return _outcome(case)


@st.composite
def schedules(draw):
    name = draw(st.sampled_from(sorted(LIVES)))
    life = LIVES[name]
    deliveries = list(life)
    # Exact re-deliveries (MDI retrying) of any events.
    deliveries += draw(st.lists(st.sampled_from(life), max_size=4))
    # The clinician clicking twice: the same business event re-sent one second later.
    for event_type, timestamp, extra in draw(st.lists(st.sampled_from(life), max_size=2)):
        deliveries.append((event_type, timestamp + 1, extra))
    return name, draw(st.permutations(deliveries))


@pytest.mark.django_db
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(schedule=schedules())
def test_any_delivery_schedule_converges_to_the_in_order_result(fake_mdi, schedule):
    name, deliveries = schedule
    expected = _in_order(LIVES[name], fake_mdi)
    case = _new_case(fake_mdi)
    for event_type, timestamp, extra in deliveries:
        _deliver(case, event_type, timestamp, extra)
    actual = _outcome(case)
    assert actual == expected
    assert actual["duplicate_notifications"] == 0
    assert len(actual["effects"]) == (0 if name == "in_review" else 1)  # one capture or one release


def test_the_in_order_results_are_what_the_clinic_expects(db, fake_mdi):
    approved = _in_order(APPROVED_LIFE, fake_mdi)
    assert (approved["case"], approved["prescription"], approved["tracking"]) == (
        "prescription_sent",
        "delivered",
        "1Z42",
    )
    assert approved["effects"] == ["capture"]
    assert approved["forward_notifications"] == [
        "approved",
        "delivered",
        "prescription_sent",
        "shipped",
    ]
    assert [status for _, status, _ in approved["timeline"]] == [
        "delivered", "shipped", "sent_to_pharmacy", "written", "prescription_sent", "approved",
        "under_review", "more_info_requested", "under_review", "submitted",
    ]  # fmt: skip
    declined = _in_order(DECLINED_LIFE, fake_mdi)
    assert (declined["case"], declined["effects"]) == ("declined", ["release"])
    assert _in_order(STILL_IN_REVIEW, fake_mdi)["case"] == "more_info_requested"
