"""MDI's sandbox test routes (reference §10): scripts drive a sandbox case without the console."""

import json

import pytest
import respx

from mdi_sandbox.models import SandboxCase, SandboxPatient

pytestmark = pytest.mark.django_db
PARTNER = "/mdi-sandbox/api/v1/partner"


@pytest.fixture
def case() -> SandboxCase:
    patient = SandboxPatient.objects.create(email="p@example.com", payload={"metadata": "pm"})
    return SandboxCase.objects.create(patient=patient, metadata="our-uuid", payload={})


@pytest.fixture
def captured(settings):
    with respx.mock(assert_all_called=False) as router:
        yield router.post(settings.MDI_SANDBOX_WEBHOOK_URL).respond(200)


def _post(client, auth, path, body, capture):
    with capture(execute=True):
        return client.post(
            f"{PARTNER}{path}", data=json.dumps(body), content_type="application/json", **auth
        )


@pytest.mark.parametrize(
    ("status", "reason", "sandbox_status", "events"),
    [
        ("assigned", "", "assigned", ["case_assigned_to_clinician"]),
        ("waiting", "Need a photo", "waiting", ["case_waiting"]),
        ("support", "", "support", ["case_transferred_to_support"]),
        ("processing", "", "processing", ["case_approved", "case_processing"]),
        ("completed", "", "completed", ["offering_submitted", "case_completed"]),
        ("cancelled", "Not suitable", "cancelled", ["case_cancelled"]),
    ],
)
def test_the_status_route_moves_the_case_and_sends_the_webhooks(
    client, auth, case, captured, django_capture_on_commit_callbacks, status, reason,
    sandbox_status, events,
):  # fmt: skip
    response = _post(
        client, auth, f"/tests/encounters/{case.case_id}/status",
        {"status": status, "reason": reason, "clinician_id": "c-1"},
        django_capture_on_commit_callbacks,
    )  # fmt: skip
    assert response.status_code == 200
    assert response.json()["case_id"] == case.case_id
    case.refresh_from_db()
    assert case.status == sandbox_status
    assert [json.loads(c.request.content)["event_type"] for c in captured.calls] == events


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"status": "teleported"}, "The selected status is invalid."),
        ({"status": "waiting"}, "The reason field is required."),
        ({"status": "cancelled", "reason": ""}, "The reason field is required."),
    ],
)
def test_the_status_route_refuses_bad_input_and_sends_nothing(
    client, auth, case, captured, django_capture_on_commit_callbacks, body, message
):
    response = _post(
        client, auth, f"/tests/encounters/{case.case_id}/status", body,
        django_capture_on_commit_callbacks,
    )  # fmt: skip
    assert (response.status_code, response.json()) == (422, {"message": message})
    case.refresh_from_db()
    assert case.status == "created" and captured.call_count == 0


def test_an_unknown_encounter_is_a_json_404_like_mdi(
    client, auth, captured, django_capture_on_commit_callbacks
):
    response = _post(
        client, auth, "/tests/encounters/nope/status", {"status": "assigned"},
        django_capture_on_commit_callbacks,
    )  # fmt: skip
    assert response.status_code == 404
    assert response.json() == {"message": "Resource not found."}


def test_the_prescriptions_route_simulates_a_clinician_writing_the_prescription(
    client, auth, case, captured, django_capture_on_commit_callbacks
):
    response = _post(
        client, auth, f"/tests/encounters/{case.case_id}/prescriptions", {"clinician_id": "c-1"},
        django_capture_on_commit_callbacks,
    )  # fmt: skip
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.status == "completed"
    assert [json.loads(c.request.content)["event_type"] for c in captured.calls] == [
        "offering_submitted",
        "case_completed",
    ]


def test_a_cancelled_case_cannot_be_prescribed(
    client, auth, case, captured, django_capture_on_commit_callbacks
):
    case.status = "cancelled"
    case.save()
    response = _post(
        client, auth, f"/tests/encounters/{case.case_id}/prescriptions", {},
        django_capture_on_commit_callbacks,
    )  # fmt: skip
    assert response.status_code == 422 and captured.call_count == 0


def test_the_message_route_injects_a_clinician_message(
    client, auth, case, captured, django_capture_on_commit_callbacks
):
    response = _post(
        client, auth, f"/tests/patients/{case.patient.patient_id}/messages",
        {"text": "Please send a clearer photo.", "clinician_id": "c-1"},
        django_capture_on_commit_callbacks,
    )  # fmt: skip
    assert response.status_code == 201
    (call,) = captured.calls
    body = json.loads(call.request.content)
    assert (body["event_type"], body["patient_id"]) == ("message_created", case.patient.patient_id)
    assert case.patient.messages.get().text == "Please send a clearer photo."


def test_the_test_routes_need_a_token(client, case):
    response = client.post(
        f"{PARTNER}/tests/encounters/{case.case_id}/status",
        data={"status": "assigned"},
        content_type="application/json",
    )
    assert response.status_code == 401
    case.refresh_from_db()
    assert case.status == "created"
