"""Every console button, pressed by a sandbox clinician: the sandbox case changes and exactly MDI's webhooks
leave by HTTP POST (captured with respx, so this does not depend on our receiving endpoint)."""

import hashlib
import hmac
import json

import pytest
import respx
from django.urls import reverse

from mdi_sandbox.models import SandboxCase, SandboxMessage, SandboxPatient, SandboxWebhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def case() -> SandboxCase:
    patient = SandboxPatient.objects.create(
        email="p@example.com", payload={"metadata": "patient-ref"}
    )
    return SandboxCase.objects.create(patient=patient, metadata="our/case-uuid", payload={})


@pytest.fixture
def captured(settings):
    with respx.mock(assert_all_called=False) as router:
        yield router.post(settings.MDI_SANDBOX_WEBHOOK_URL).respond(200)


def _press(staff, case, django_capture_on_commit_callbacks, **fields):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(reverse("mdi_sandbox:act", args=[case.case_id]), fields)
    assert response.status_code == 302
    return response


def _bodies(route) -> list[dict]:
    return [json.loads(call.request.content) for call in route.calls]


@pytest.mark.parametrize(
    ("action", "fields", "status", "events", "expected"),
    [
        ("assign", {}, "assigned", ["case_assigned_to_clinician"], {}),
        ("request_info", {"text": "Any allergies?"}, "waiting", ["case_waiting"], {}),
        ("support", {}, "support", ["case_transferred_to_support"], {}),
        ("approve", {}, "processing", ["case_approved", "case_processing"], {}),
        ("prescribe", {}, "completed", ["offering_submitted", "case_completed"], {}),
        ("decline", {"text": "Not suitable."}, "cancelled", ["case_cancelled"],
         {"reason": "Not suitable."}),
        ("order_received", {}, "created", ["case_order_created", "order_status_changed"],
         {"order_status": "received"}),
        ("order_filled", {}, "created", ["order_status_changed"], {"order_status": "ready"}),
        ("order_shipped", {"tracking_number": "1ZTRACK"}, "created",
         ["order_tracking_number_changed"], {"order_status": "received"}),
        ("order_delivered", {}, "created", ["order_status_changed"],
         {"order_status": "completed"}),
        ("order_failed", {}, "created", ["order_status_changed"], {"order_status": "failed"}),
    ],
)  # fmt: skip
def test_each_button_changes_the_case_and_sends_mdis_webhooks(
    staff, case, captured, django_capture_on_commit_callbacks, action, fields, status, events,
    expected,
):  # fmt: skip
    _press(staff, case, django_capture_on_commit_callbacks, action=action, **fields)

    case.refresh_from_db()
    assert case.status == status
    bodies = _bodies(captured)
    assert [b["event_type"] for b in bodies] == events
    for body in bodies:
        # Case and order events carry the case id (twice, as encounter_id) and our metadata,
        # but no patient_id (reference §8.2).
        assert body["case_id"] == body["encounter_id"] == case.case_id
        assert body["metadata"] == "our/case-uuid"
        assert "patient_id" not in body
        assert isinstance(body["timestamp"], int)
    for key, value in expected.items():
        assert bodies[-1][key] == value
    assert [b["timestamp"] for b in bodies] == sorted({b["timestamp"] for b in bodies})
    assert set(SandboxWebhook.objects.values_list("response_status", flat=True)) == {200}


def test_request_more_information_stores_the_clinicians_question(
    staff, case, captured, django_capture_on_commit_callbacks
):
    _press(staff, case, django_capture_on_commit_callbacks, action="request_info", text="Why?")
    case.refresh_from_db()
    assert case.reason == "Why?"
    assert SandboxMessage.objects.get(patient=case.patient).text == "Why?"


def test_shipping_puts_the_tracking_number_in_order_details(
    staff, case, captured, django_capture_on_commit_callbacks
):
    _press(
        staff, case, django_capture_on_commit_callbacks, action="order_shipped",
        tracking_number="1ZTRACK",
    )  # fmt: skip
    case.refresh_from_db()
    assert case.tracking_number == "1ZTRACK"
    assert "Tracking Number: 1ZTRACK" in _bodies(captured)[0]["order_details"]


def test_a_message_is_a_patient_event_with_the_patients_metadata(
    staff, case, captured, django_capture_on_commit_callbacks
):
    _press(staff, case, django_capture_on_commit_callbacks, action="message", text="Hi there")
    (body,) = _bodies(captured)
    assert body["event_type"] == "message_created"
    assert (body["patient_id"], body["metadata"]) == (case.patient.patient_id, "patient-ref")
    assert body["channel"] == "patient" and body["user_type"] == "App\\Models\\Clinician"
    assert "case_id" not in body
    message = SandboxMessage.objects.get(patient=case.patient)
    assert (message.text, body["message_id"]) == ("Hi there", str(message.pk))


def test_bodies_are_escaped_like_php_and_signed_over_the_exact_bytes(
    settings, staff, case, captured, django_capture_on_commit_callbacks
):
    _press(staff, case, django_capture_on_commit_callbacks, action="assign")
    request = captured.calls[0].request
    # PHP's json_encode escapes "/" — a Python re-serialisation would not match the signature.
    assert b'"our\\/case-uuid"' in request.content
    assert json.dumps(json.loads(request.content)).encode() != request.content
    assert (
        request.headers["Signature"]
        == hmac.new(
            settings.MDI_WEBHOOK_SECRET[0].encode(), request.content, hashlib.sha256
        ).hexdigest()
    )
    assert request.headers["Authorization"] == settings.MDI_WEBHOOK_AUTHORIZATION[0]
    assert request.headers["Content-Type"] == "application/json"


def test_chaos_send_twice_sends_the_same_bytes_twice(
    staff, case, captured, django_capture_on_commit_callbacks
):
    _press(staff, case, django_capture_on_commit_callbacks, action="assign")
    _press(staff, case, django_capture_on_commit_callbacks, action="send_twice")
    first, again, twice = (call.request for call in captured.calls)
    assert first.content == again.content == twice.content
    assert first.headers["Signature"] == twice.headers["Signature"]


def test_chaos_reverse_last_resends_the_newest_events_first(
    staff, case, captured, django_capture_on_commit_callbacks
):
    for action in ("assign", "approve", "prescribe"):  # 5 events
        _press(staff, case, django_capture_on_commit_callbacks, action=action)
    _press(staff, case, django_capture_on_commit_callbacks, action="reverse_last", count="3")
    resent = [b["event_type"] for b in _bodies(captured)[5:]]
    assert resent == ["case_completed", "offering_submitted", "case_processing"]


def test_chaos_bad_signature_is_sent_with_a_signature_the_secret_does_not_verify(
    settings, staff, case, captured, django_capture_on_commit_callbacks
):
    _press(staff, case, django_capture_on_commit_callbacks, action="assign")
    _press(staff, case, django_capture_on_commit_callbacks, action="bad_signature")
    forged = captured.calls[1].request
    assert forged.content == captured.calls[0].request.content
    assert (
        forged.headers["Signature"]
        != hmac.new(
            settings.MDI_WEBHOOK_SECRET[0].encode(), forged.content, hashlib.sha256
        ).hexdigest()
    )
    assert SandboxWebhook.objects.get(bad_signature=True).response_status == 200


def test_chaos_redeliver_later_holds_the_event_until_staff_release_it(
    staff, case, captured, django_capture_on_commit_callbacks
):
    _press(staff, case, django_capture_on_commit_callbacks, action="assign")
    _press(staff, case, django_capture_on_commit_callbacks, action="redeliver_later")
    assert captured.call_count == 1
    held = SandboxWebhook.objects.get(is_held=True)
    assert held.sent_at is None
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(reverse("mdi_sandbox:deliver_held"))
    assert captured.call_count == 2
    held.refresh_from_db()
    assert (held.is_held, held.response_status) == (False, 200)


def test_a_failed_delivery_is_recorded_not_raised(
    settings, staff, case, django_capture_on_commit_callbacks
):
    import httpx

    with respx.mock() as router:
        router.post(settings.MDI_SANDBOX_WEBHOOK_URL).mock(side_effect=httpx.ConnectError("down"))
        _press(staff, case, django_capture_on_commit_callbacks, action="assign")
    hook = SandboxWebhook.objects.get()
    assert (hook.response_status, hook.error) == (None, "ConnectError")
    assert "ConnectError" in staff.get(reverse("mdi_sandbox:console")).content.decode()


@pytest.mark.parametrize("count", ["abc", "-2", "0", "11"])
def test_a_nonsense_count_for_reverse_last_is_refused_not_a_500(
    staff, case, captured, django_capture_on_commit_callbacks, count
):
    for action in ("assign", "approve", "prescribe"):  # 5 events: a -2 slice would send 3
        _press(staff, case, django_capture_on_commit_callbacks, action=action)
    response = _press(
        staff, case, django_capture_on_commit_callbacks, action="reverse_last", count=count
    )
    assert captured.call_count == 5
    page = staff.get(response.url).content.decode()
    assert "whole number from 1 to 10" in page


def test_the_console_lists_cases_and_deliveries_for_sandbox_clinicians(
    staff, case, captured, django_capture_on_commit_callbacks
):
    _press(staff, case, django_capture_on_commit_callbacks, action="assign")
    page = staff.get(reverse("mdi_sandbox:console")).content.decode()
    assert case.case_id in page and "case_assigned_to_clinician" in page


def test_a_patient_cannot_press_a_button(client, user, case, captured):
    client.force_login(user)
    response = client.post(reverse("mdi_sandbox:act", args=[case.case_id]), {"action": "assign"})
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.status == "created" and captured.call_count == 0


@pytest.mark.parametrize("action", ["assign", "approve", "prescribe", "support", "request_info"])
def test_a_cancelled_case_is_final_and_the_console_says_so(
    staff, case, captured, django_capture_on_commit_callbacks, action
):
    _press(staff, case, django_capture_on_commit_callbacks, action="decline", text="No.")
    response = _press(staff, case, django_capture_on_commit_callbacks, action=action)
    case.refresh_from_db()
    assert case.status == "cancelled"
    assert [b["event_type"] for b in _bodies(captured)] == ["case_cancelled"]
    assert "case is cancelled" in staff.get(response.url).content.decode()


def test_chaos_can_still_resend_after_a_cancellation(
    staff, case, captured, django_capture_on_commit_callbacks
):
    _press(staff, case, django_capture_on_commit_callbacks, action="decline", text="No.")
    _press(staff, case, django_capture_on_commit_callbacks, action="send_twice")
    assert [b["event_type"] for b in _bodies(captured)] == ["case_cancelled"] * 3
