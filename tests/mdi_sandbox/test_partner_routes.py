"""Partner routes the client is about to use: patient GET/PATCH with the create validation and
a driver license, partner cancellation, and the case's status history."""

import json
from datetime import datetime

import pytest
import respx
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mdi_sandbox.models import CLINICIAN, SUPPORT, SandboxCase
from mdi_sandbox.models import PARTNER as PARTNER_USER
from tests.mdi_sandbox.conftest import PARTNER

pytestmark = pytest.mark.django_db

# fmt: off
VALID_PATIENT = {
    "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
    "date_of_birth": "1990-02-01", "gender": 2, "phone_number": "(415) 555-0123", "phone_type": 2,
    "address": {"address": "1 Main St", "address2": None, "zip_code": "94601",
                "city_name": "Oakland", "state_name": "CA"},
}
# fmt: on


@pytest.fixture
def captured(settings):
    with respx.mock(assert_all_called=False) as router:
        yield router.post(settings.MDI_SANDBOX_WEBHOOK_URL).respond(200)


@pytest.fixture
def call(client, auth, django_capture_on_commit_callbacks):
    def send(method: str, path: str, body: dict | None = None):
        with django_capture_on_commit_callbacks(execute=True):
            if method == "get":
                return client.get(f"{PARTNER}{path}", **auth)
            return getattr(client, method)(
                f"{PARTNER}{path}",
                data=json.dumps(body or {}),
                content_type="application/json",
                **auth,
            )

    return send


@pytest.fixture
def license_file(client, auth) -> dict:
    upload = SimpleUploadedFile("id.jpg", b"\xff\xd8\xff", content_type="image/jpeg")
    response = client.post(
        f"{PARTNER}/files", {"file": upload, "name": "id.jpg", "type": "driver-license"}, **auth
    )
    assert response.status_code == 201
    return response.json()


@pytest.fixture
def patient_id(call) -> str:
    response = call("post", "/patients", VALID_PATIENT)
    assert response.status_code == 201
    return response.json()["patient_id"]


@pytest.fixture
def case_id(call, patient_id, captured) -> str:
    response = call("post", "/cases", {"patient_id": patient_id, "metadata": "ours"})
    assert response.status_code == 201
    return response.json()["case_id"]


# --- patients -------------------------------------------------------------------------------
def test_get_answers_the_patient_json(call, patient_id):
    response = call("get", f"/patients/{patient_id}")
    assert response.status_code == 200
    assert response.json() == {
        "patient_id": patient_id,
        "is_live": False,
        **VALID_PATIENT,
        "driver_license": None,
    }


def test_get_an_unknown_patient_is_a_json_404(call):
    response = call("get", "/patients/nope")
    assert response.status_code == 404 and "message" in response.json()


def test_patch_updates_only_what_is_sent(call, patient_id):
    response = call(
        "patch",
        f"/patients/{patient_id}",
        {"last_name": "Byron", "address": {"address2": "Apt 2", "city_name": "Berkeley"}},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["first_name"], body["last_name"]) == ("Ada", "Byron")
    assert body["address"] == {
        **VALID_PATIENT["address"],
        "address2": "Apt 2",
        "city_name": "Berkeley",
    }
    assert call("get", f"/patients/{patient_id}").json() == body


def test_patch_can_change_the_email_and_search_follows(call, patient_id):
    assert (
        call("patch", f"/patients/{patient_id}", {"email": "Ada2@Example.com"}).status_code == 200
    )
    found = call("post", "/patients/search", {"search": "ada2@example.com"}).json()
    assert [p["patient_id"] for p in found] == [patient_id]
    assert call("post", "/patients/search", {"search": "ada@example.com"}).json() == []


def test_patch_to_another_patients_email_is_refused(call, patient_id):
    call("post", "/patients", {**VALID_PATIENT, "email": "other@example.com"})
    response = call("patch", f"/patients/{patient_id}", {"email": "other@example.com"})
    assert (response.status_code, response.json()) == (
        400,
        {"message": "ERROR_PATIENT_EMAIL_ALREADY_TAKEN"},
    )


TOO_LONG = [
    ({"first_name": "x" * 36}, "The first name may not be greater than 35 characters."),
    ({"last_name": "x" * 36}, "The last name may not be greater than 35 characters."),
    ({"email": "x" * 69 + "@example.com"}, "The email may not be greater than 80 characters."),
    ({"address": {"address": "x" * 36}}, "The address.address may not be greater than 35"),
    ({"address": {"address2": "x" * 36}}, "The address.address2 may not be greater than 35"),
    ({"address": {"city_name": "x" * 36}}, "The address.city_name may not be greater than 35"),
    ({"first_name": ""}, "The first name field is required."),
    ({"address": {"zip_code": ""}}, "The address.zip_code field is required."),
    ({"gender": 3}, "The selected gender is invalid."),
    ({"driver_license_id": "no-such-file"}, "The selected driver license id is invalid."),
]


@pytest.mark.parametrize(("change", "message"), TOO_LONG)
def test_patch_validates_like_create(call, patient_id, change, message):
    response = call("patch", f"/patients/{patient_id}", change)
    assert response.status_code == 422
    assert message in response.json()["message"]
    assert call("get", f"/patients/{patient_id}").json()["first_name"] == "Ada"


@pytest.mark.parametrize(("change", "message"), TOO_LONG)
def test_create_validates_lengths_including_the_address(call, change, message):
    address = {**VALID_PATIENT["address"], **change.get("address", {})}
    response = call("post", "/patients", {**VALID_PATIENT, **change, "address": address})
    assert response.status_code == 422
    assert message in response.json()["message"]


def test_address2_may_be_null_or_35_characters(call):
    address = {**VALID_PATIENT["address"], "address2": "x" * 35}
    assert call("post", "/patients", {**VALID_PATIENT, "address": address}).status_code == 201


def test_a_driver_license_on_create_and_patch(call, license_file):
    created = call(
        "post", "/patients", {**VALID_PATIENT, "driver_license_id": license_file["file_id"]}
    )
    assert created.status_code == 201
    expected = {"file_id": license_file["file_id"], "name": "id.jpg", "mime_type": "image/jpeg"}
    assert created.json()["driver_license"] == expected
    assert "driver_license_id" not in created.json()
    patient_id = created.json()["patient_id"]
    assert call("get", f"/patients/{patient_id}").json()["driver_license"] == expected
    cleared = call("patch", f"/patients/{patient_id}", {"driver_license_id": None})
    assert cleared.json()["driver_license"] is None
    again = call("patch", f"/patients/{patient_id}", {"driver_license_id": license_file["file_id"]})
    assert again.json()["driver_license"] == expected


# --- cancellation ---------------------------------------------------------------------------
def _events(captured) -> list[dict]:
    return [json.loads(c.request.content) for c in captured.calls]


def test_the_partner_cancels_a_case(call, case_id, captured):
    response = call("post", f"/cases/{case_id}/cancel", {"reason": "Patient changed their mind"})
    assert response.status_code == 200
    assert response.json()["case_status"] == {
        "name": "cancelled",
        "reason": "Patient changed their mind",
        "hold_status": False,
    }
    cancelled = _events(captured)[-1]
    assert cancelled["event_type"] == "case_cancelled" and cancelled["case_id"] == case_id
    assert cancelled["reason"] == "Patient changed their mind"
    statuses = call("get", f"/cases/{case_id}/statuses").json()
    assert [(s["name"], s["user_type"]) for s in statuses][-1] == ("cancelled", PARTNER_USER)


def test_the_reason_is_optional(call, case_id, captured):
    response = call("post", f"/cases/{case_id}/cancel")
    assert response.status_code == 200
    assert response.json()["case_status"]["name"] == "cancelled"
    assert response.json()["case_status"]["reason"] is None


def test_a_cancelled_case_cannot_be_cancelled_again(call, case_id, captured):
    call("post", f"/cases/{case_id}/cancel")
    sent = captured.call_count
    response = call("post", f"/cases/{case_id}/cancel", {"reason": "again"})
    assert (response.status_code, response.json()) == (
        422,
        {"message": "The case is already cancelled."},
    )
    assert captured.call_count == sent


def test_cancel_of_an_unknown_case_is_a_json_404_and_get_is_405(call):
    assert call("post", "/cases/nope/cancel").status_code == 404
    assert call("get", "/cases/nope/cancel").status_code == 405


# --- status history -------------------------------------------------------------------------
def test_statuses_list_every_status_newest_last_with_who_moved_it(call, case_id, captured, staff):
    assert (
        call("post", f"/tests/encounters/{case_id}/status", {"status": "assigned"}).status_code
        == 200
    )
    call("post", f"/tests/encounters/{case_id}/status", {"status": "waiting", "reason": "Photo?"})
    staff.post(reverse("mdi_sandbox:act", args=[case_id]), {"action": "assign"})
    staff.post(
        reverse("mdi_sandbox:act", args=[case_id]),
        {"action": "support_cancel", "text": "Duplicate case"},
    )
    response = call("get", f"/cases/{case_id}/statuses")
    assert response.status_code == 200
    rows = response.json()
    assert [(r["name"], r["reason"], r["user_type"]) for r in rows] == [
        ("created", None, PARTNER_USER),
        ("assigned", None, CLINICIAN),
        ("waiting", "Photo?", CLINICIAN),
        ("assigned", None, CLINICIAN),
        ("cancelled", "Duplicate case", SUPPORT),
    ]
    for row in rows:
        assert row["hold_status"] is False
        assert set(row) == {
            "name",
            "reason",
            "hold_status",
            "user_type",
            "created_at",
            "updated_at",
        }
        datetime.fromisoformat(row["created_at"])
        datetime.fromisoformat(row["updated_at"])
    assert call("get", f"/cases/{case_id}").json()["case_status"]["reason"] == "Duplicate case"


def test_the_case_shows_the_latest_reason(call, case_id, captured):
    call("post", f"/tests/encounters/{case_id}/status", {"status": "waiting", "reason": "First?"})
    call("post", f"/tests/encounters/{case_id}/status", {"status": "waiting", "reason": "Second?"})
    assert call("get", f"/cases/{case_id}").json()["case_status"]["reason"] == "Second?"


def test_decline_from_the_console_stays_a_clinician_cancellation(staff, call, case_id, captured):
    staff.post(reverse("mdi_sandbox:act", args=[case_id]), {"action": "decline", "text": "No."})
    assert call("get", f"/cases/{case_id}/statuses").json()[-1]["user_type"] == CLINICIAN


def test_support_cancel_emits_case_cancelled_and_is_final(
    staff, call, case_id, captured, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(reverse("mdi_sandbox:act", args=[case_id]), {"action": "support_cancel"})
    assert _events(captured)[-1]["event_type"] == "case_cancelled"
    assert SandboxCase.objects.get(case_id=case_id).status == "cancelled"
    assert call("post", f"/cases/{case_id}/cancel").status_code == 422
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(reverse("mdi_sandbox:act", args=[case_id]), {"action": "support_cancel"})
    assert [e["event_type"] for e in _events(captured)].count("case_cancelled") == 1
