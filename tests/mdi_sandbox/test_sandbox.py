"""The embedded MDI sandbox: its partner API, its signed webhooks, and the whole loop in-process."""

import hashlib
import hmac
import json

import httpx
import pytest
import respx
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.urls import reverse

from cases import mdi_client
from cases.mdi_client import MdiClient, MdiPatientConflict, MdiRequestError
from cases.models import CaseStatus, PrescriptionStatus, SubmissionStatus
from cases.services.submission import case_submit
from mdi_sandbox import services as sandbox
from mdi_sandbox.models import SandboxCase, SandboxWebhook
from tests.cases.conftest import DEMO_OFFERING_ID
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db
API = "http://testserver/mdi-sandbox/api"


@pytest.fixture
def in_process(settings, monkeypatch):
    """Our client talks to the sandbox, and the sandbox's webhooks reach our endpoint, all
    through the WSGI app in this process: the real HTTP code paths, no network."""
    transport = httpx.WSGITransport(app=WSGIHandler())
    settings.MDI_SANDBOX_WEBHOOK_URL = "http://testserver/webhooks/mdi/"
    monkeypatch.setattr(sandbox, "WEBHOOK_TRANSPORT", transport)
    client = MdiClient(base_url=API, transport=transport, sleep=lambda s: None)
    monkeypatch.setattr(mdi_client, "mdi_client", lambda: client)
    # Like Django's test client: a finished in-process request must not close the test's own
    # connection (it holds the test transaction; on PostgreSQL closing it loses everything).
    monkeypatch.setattr(connection, "close_if_unusable_or_obsolete", lambda: None)
    return client


def _press(staff, case: SandboxCase, action: str, **fields) -> None:
    response = staff.post(
        reverse("mdi_sandbox:act", args=[case.case_id]), {"action": action, **fields}
    )
    assert response.status_code == 302


def test_a_submitted_case_travels_the_whole_loop_driven_from_the_console(
    completed, in_process, staff, django_capture_on_commit_callbacks
):
    patient, response = completed
    with django_capture_on_commit_callbacks(execute=True):
        case = case_submit(patient=patient, response=response)
    case.refresh_from_db()
    sandbox_case = SandboxCase.objects.get()
    assert (case.submission_status, case.mdi_case_id) == (
        SubmissionStatus.SENT,
        sandbox_case.case_id,
    )
    assert sandbox_case.metadata == str(case.public_id)
    assert sandbox_case.payload["case_offerings"] == [{"offering_id": DEMO_OFFERING_ID}]
    assert len(sandbox_case.file_ids) == 1  # the scalp photo; the photo ID is on the patient
    assert sandbox_case.patient.driver_license.type == "driver-license"
    assert SandboxWebhook.objects.get().response_status == 200  # case_created, verified by us

    steps = [
        ("assign", {}, CaseStatus.UNDER_REVIEW),
        (
            "request_info",
            {"text": "How long have you used minoxidil?"},
            CaseStatus.MORE_INFO_REQUESTED,
        ),
        ("message", {"text": "Thanks for the details."}, CaseStatus.MORE_INFO_REQUESTED),
        ("support", {}, CaseStatus.WITH_SUPPORT),
        ("assign", {}, CaseStatus.UNDER_REVIEW),
        ("approve", {}, CaseStatus.APPROVED),
        ("prescribe", {}, CaseStatus.PRESCRIPTION_SENT),
    ]
    for action, fields, expected in steps:
        with django_capture_on_commit_callbacks(execute=True):
            _press(staff, sandbox_case, action, **fields)
        case.refresh_from_db()
        assert case.status == expected, action
    for action, expected in [
        ("order_received", "sent_to_pharmacy"),
        ("order_filled", "filled"),
        ("order_shipped", "shipped"),
        ("order_delivered", "delivered"),
    ]:
        with django_capture_on_commit_callbacks(execute=True):
            _press(staff, sandbox_case, action)
        case.prescription.refresh_from_db()
        assert case.prescription.status == expected, action
    assert case.prescription.tracking_number.startswith("1Z")

    # Chaos: duplicates, reversed re-sends, a forged signature and a late redelivery change nothing.
    for chaos in ("send_twice", "reverse_last", "bad_signature", "redeliver_later"):
        with django_capture_on_commit_callbacks(execute=True):
            _press(staff, sandbox_case, chaos, count=4)
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(reverse("mdi_sandbox:deliver_held"))
    case.refresh_from_db()
    assert (case.status, case.prescription.status) == (
        CaseStatus.PRESCRIPTION_SENT,
        PrescriptionStatus.DELIVERED,
    )
    case.payment.refresh_from_db()
    assert case.payment.status == "captured"  # charged once, on approval
    assert SandboxWebhook.objects.filter(bad_signature=True).get().response_status == 401
    assert WebhookDelivery.objects.filter(outcome="unauthenticated").count() == 1
    assert not SandboxWebhook.objects.filter(is_held=True).exists()
    assert (
        SandboxWebhook.objects.exclude(bad_signature=True).exclude(response_status=200).count() == 0
    )


def test_declining_through_mdis_test_route(
    completed, in_process, django_capture_on_commit_callbacks
):
    patient, response = completed
    with django_capture_on_commit_callbacks(execute=True):
        case = case_submit(patient=patient, response=response)
    case.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        result = in_process._send(
            "POST", f"/v1/partner/tests/encounters/{case.mdi_case_id}/status",
            json={"status": "cancelled", "reason": "Finasteride is not suitable with your history."},
        )  # fmt: skip
    assert result["case_status"]["name"] == "cancelled"
    case.refresh_from_db()
    assert (case.status, case.decline_reason) == (
        CaseStatus.DECLINED,
        "Finasteride is not suitable with your history.",
    )
    case.payment.refresh_from_db()
    assert case.payment.status == "released"


def test_sandbox_webhooks_are_byte_for_byte_verifiable_with_the_secret(
    settings, django_capture_on_commit_callbacks
):
    from mdi_sandbox.models import SandboxPatient

    patient = SandboxPatient.objects.create(email="a@example.com", payload={"metadata": "m"})
    case = SandboxCase.objects.create(patient=patient, metadata="our-uuid", payload={})
    with respx.mock() as router:
        route = router.post(settings.MDI_SANDBOX_WEBHOOK_URL).respond(200)
        with django_capture_on_commit_callbacks(execute=True):
            sandbox.sandbox_case_act(case=case, action="order_shipped", tracking_number="1Z9")
    request = route.calls[0].request
    expected = hmac.new(
        settings.MDI_WEBHOOK_SECRET[0].encode(), request.content, hashlib.sha256
    ).hexdigest()
    assert request.headers["Signature"] == expected
    assert request.headers["Authorization"] == settings.MDI_WEBHOOK_AUTHORIZATION[0]
    body = json.loads(request.content)
    assert (body["event_type"], body["case_id"], body["metadata"]) == (
        "order_tracking_number_changed",
        case.case_id,
        "our-uuid",
    )
    assert isinstance(body["timestamp"], int)
    assert "Tracking Number: 1Z9" in body["order_details"]


VALID_PATIENT = {
    "first_name": "A", "last_name": "B", "email": "x@example.com", "date_of_birth": "1990-02-01",
    "gender": 2, "phone_number": "(415) 555-0123", "phone_type": 2,
    "address": {"address": "1", "zip_code": "94601", "city_name": "Oakland", "state_name": "CA"},
}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"date_of_birth": "01/02/1990"}, "date of birth does not match"),
        ({"gender": 9}, "gender is invalid"),
        ({"first_name": ""}, "first name field is required"),
        ({"address": {"address": "1"}}, "address.zip_code field is required"),
    ],
)
def test_the_partner_api_validates_patients_like_mdi(in_process, change, message):
    with pytest.raises(MdiRequestError, match=message) as excinfo:
        in_process.patient_ensure(payload={**VALID_PATIENT, **change})
    assert excinfo.value.status == 422


def test_the_partner_api_refuses_duplicates_empty_answers_and_unknown_file_types(in_process):
    patient_id, created = in_process.patient_ensure(payload=VALID_PATIENT)
    assert created and in_process.patient_ensure(payload=VALID_PATIENT) == (patient_id, False)
    # Someone else's record under the same email is never reused.
    with pytest.raises(MdiPatientConflict):
        in_process.patient_ensure(payload={**VALID_PATIENT, "first_name": "Eve"})
    with pytest.raises(MdiRequestError, match="answer is required"):
        in_process.case_ensure(
            payload={
                "patient_id": patient_id,
                "metadata": "m",
                "case_questions": [{"question": "Q?", "answer": "", "type": "string"}],
            }
        )
    with pytest.raises(MdiRequestError, match="type is invalid"):
        in_process.file_upload(
            content=b"x", name="x.jpg", mime_type="image/jpeg", file_type="selfie"
        )


def test_the_api_refuses_a_missing_or_wrong_token(client):
    assert (
        client.post(
            "/mdi-sandbox/api/v1/partner/cases", data={}, content_type="application/json"
        ).status_code
        == 401
    )
    bad = client.post(
        "/mdi-sandbox/api/v1/partner/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "x",
            "client_secret": "y",
            "scope": "*",
        },
        content_type="application/json",
    )
    assert bad.status_code == 401


def test_production_never_mounts_the_sandbox():
    from tests.core.test_health_and_settings import PRODUCTION_ENV, _manage

    result = _manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from django.urls import resolve; resolve('/mdi-sandbox/console/')",
        env=PRODUCTION_ENV,
    )
    assert result.returncode != 0 and "Resolver404" in result.stderr
