"""Messages with the care team and the clinician's requests for more information: each MDI
message is fetched and stored once, a patient's reply reaches MDI exactly once (retries and
lost replies included), and a request stays open until answered or the case moves on."""

import html
import io

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.urls import reverse
from PIL import Image

from cases.models import (
    ActionRequest,
    ActionRequestKind,
    Case,
    CaseMessage,
    CaseStatus,
    MessageDirection,
    MessageSender,
    MessageStatus,
)
from cases.selectors import case_conversation, case_open_action_requests
from patients.models import IdentityDocument
from tests.cases.factories import CaseFactory

pytestmark = pytest.mark.django_db

CLINICIAN = "App\\Models\\Clinician"
PATIENT = "App\\Models\\Patient"
MDI_PATIENT = "mdi-patient-1"


def _jpeg(name: str = "photo.jpg") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (10, 20, 30)).save(out, format="JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def _php_as_jpeg() -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "id.jpg", b"<?php system($_GET['c']); ?>" * 10, content_type="image/jpeg"
    )


@pytest.fixture
def case(user, fake_mdi) -> Case:
    """The logged-in patient's visit, known to MDI (patient and case)."""
    case = CaseFactory(
        patient__user=user, patient__mdi_patient_id=MDI_PATIENT, status=CaseStatus.UNDER_REVIEW
    )
    fake_mdi.patients[MDI_PATIENT] = {"email": user.email}
    fake_mdi.add_case(case.mdi_case_id, patient_id=MDI_PATIENT)
    return case


@pytest.fixture
def send(patient_client, django_capture_on_commit_callbacks):
    """POST as the patient and run what the view scheduled after commit (the send task)."""

    def post(url: str, data: dict | None = None):
        with django_capture_on_commit_callbacks(execute=True):
            return patient_client.post(url, data or {})

    return post


def _fetches(fake_mdi) -> int:
    return fake_mdi.requests.count(f"GET /v1/partner/patients/{MDI_PATIENT}/messages")


def _message_created(deliver, message_id: str, user_type: str = CLINICIAN, **fields):
    return deliver(
        "message_created",
        message_id=message_id,
        patient_id=MDI_PATIENT,
        user_type=user_type,
        channel="patient",
        **fields,
    )


# --- incoming ---------------------------------------------------------------------------------
def test_a_clinician_message_is_fetched_once_and_stored_once(case, deliver, fake_mdi):
    fake_mdi.add_message(MDI_PATIENT, "Any side effects so far?", message_id="m1")
    _message_created(deliver, "m1")
    _message_created(deliver, "m1")  # the same delivery again
    _message_created(deliver, "m1", timestamp=1_700_000_060)  # a second event, same message
    assert _fetches(fake_mdi) == 1
    message = CaseMessage.objects.get()
    assert (message.case, message.mdi_message_id, message.text) == (
        case,
        "m1",
        "Any side effects so far?",
    )
    assert (message.direction, message.sender, message.status) == (
        MessageDirection.IN,
        MessageSender.CLINICIAN,
        MessageStatus.RECEIVED,
    )
    assert message.sent_at is not None


def test_only_care_team_messages_are_announced_and_each_once(case, deliver, fake_mdi):
    from cases.models import Notification

    fake_mdi.add_message(MDI_PATIENT, "Please send a photo.", message_id="c1")
    fake_mdi.add_message(MDI_PATIENT, "Sure.", by="Patient", message_id="p1")
    _message_created(deliver, "c1")
    _message_created(deliver, "c1")  # MDI announces it again
    _message_created(deliver, "p1", user_type=PATIENT)
    notices = Notification.objects.filter(kind="message")
    assert list(notices.values_list("key", flat=True)) == ["message:c1"]
    assert len([m for m in mail.outbox if "new message" in m.subject]) == 1
    assert CaseMessage.objects.get(mdi_message_id="p1").direction == MessageDirection.OUT


# --- outgoing ---------------------------------------------------------------------------------
def test_a_patient_reply_with_a_photo_reaches_mdi_with_exactly_this_body(case, send, fake_mdi):
    response = send(
        reverse("cases:message_send", args=[case.public_id]),
        {"text": "No side effects.", "photo": _jpeg()},
    )
    assert response.url == reverse("cases:detail", args=[case.public_id])
    message = CaseMessage.objects.get()
    assert message.status == MessageStatus.SENT
    (file_id,) = fake_mdi.files
    assert fake_mdi.files[file_id]["type"] == "photo"
    assert fake_mdi.message_bodies == [
        {
            "channel": "patient",
            "text": "No side effects.",
            "sender_type": "patient",
            "files": [{"id": file_id}],
        }
    ]
    assert message.mdi_message_id == fake_mdi.messages[MDI_PATIENT][0]["id"]


def test_a_failed_send_shows_retry_and_the_retry_sends_once(case, send, fake_mdi):
    fake_mdi.fail("message_send", *["connect_refused"] * 4)  # MDI unreachable throughout
    send(reverse("cases:message_send", args=[case.public_id]), {"text": "Hello"})
    message = CaseMessage.objects.get()
    assert message.status == MessageStatus.FAILED
    page = render_to_string(
        "cases/_conversation.html", {"case": case, "case_messages": case_conversation(case=case)}
    )
    retry = reverse("cases:message_retry", args=[case.public_id, message.pk])
    assert retry in page and "Retry" in page
    send(retry)
    send(retry)  # a second click: already sent, nothing more
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert len(fake_mdi.message_bodies) == 1
    assert [m["id"] for m in fake_mdi.messages[MDI_PATIENT]] == [message.mdi_message_id]


def test_a_lost_send_reply_is_reconciled_without_a_second_message(case, send, fake_mdi):
    fake_mdi.fail("message_send", "timeout_after")  # MDI stored it; we never heard back
    send(reverse("cases:message_send", args=[case.public_id]), {"text": "Hello"})
    message = CaseMessage.objects.get()
    assert message.status == MessageStatus.SENT
    assert [m["id"] for m in fake_mdi.messages[MDI_PATIENT]] == [message.mdi_message_id]
    assert len(fake_mdi.message_bodies) == 1


def test_a_send_that_lands_late_is_found_before_the_retry_sends_again(case, send, fake_mdi):
    fake_mdi.fail("message_send", "late")
    send(reverse("cases:message_send", args=[case.public_id]), {"text": "Hello"})
    message = CaseMessage.objects.get()
    assert (message.status, message.is_outcome_unknown) == (MessageStatus.FAILED, True)
    (landed,) = fake_mdi.land_late()
    send(reverse("cases:message_retry", args=[case.public_id, message.pk]))
    message.refresh_from_db()
    assert (message.status, message.mdi_message_id) == (MessageStatus.SENT, landed)
    assert len(fake_mdi.message_bodies) == 1
    assert len(fake_mdi.messages[MDI_PATIENT]) == 1


def test_our_own_message_coming_back_is_not_stored_twice(case, send, deliver, fake_mdi):
    send(reverse("cases:message_send", args=[case.public_id]), {"text": "Hello"})
    message = CaseMessage.objects.get()
    _message_created(deliver, message.mdi_message_id, user_type=PATIENT)
    assert CaseMessage.objects.count() == 1
    assert _fetches(fake_mdi) == 0


def test_an_echo_that_beats_our_confirmation_confirms_our_row(case, send, deliver, fake_mdi):
    fake_mdi.fail("message_send", "late")
    send(reverse("cases:message_send", args=[case.public_id]), {"text": "Hello"})
    (landed,) = fake_mdi.land_late()
    _message_created(deliver, landed, user_type=PATIENT)
    message = CaseMessage.objects.get()
    assert (message.status, message.mdi_message_id) == (MessageStatus.SENT, landed)
    send(reverse("cases:message_retry", args=[case.public_id, message.pk]))
    assert len(fake_mdi.message_bodies) == 1


# --- requests for more information ------------------------------------------------------------
def test_each_request_opens_once_and_all_close_when_the_case_moves_on(case, deliver, fake_mdi):
    fake_mdi.add_message(MDI_PATIENT, "How long have you had this?", message_id="q1")
    _message_created(deliver, "q1")
    deliver("case_waiting", case=case)
    deliver("case_waiting", case=case, timestamp=1_700_000_001)  # a re-send opens no second
    deliver("file_upload_requested", case=case, access_link="https://mdi.test/upload/1")
    deliver(
        "drivers_license_requested",
        patient_id=MDI_PATIENT,
        metadata="",
        access_link="https://mdi.test/upload/2",
    )
    open_requests = case_open_action_requests(patient=case.patient)
    assert sorted(r.kind for r in open_requests) == sorted(ActionRequestKind.values)
    more_info = open_requests.get(kind=ActionRequestKind.MORE_INFO)
    assert more_info.question == "How long have you had this?"

    cards = render_to_string("cases/_action_requests.html", {"action_requests": open_requests})
    assert "Your clinician needs a clearer photo of your ID" in cards
    assert "Your clinician asked for more information" in cards
    assert "Your clinician asked for a photo" in cards
    assert "How long have you had this?" in cards
    assert reverse("cases:message_send", args=[case.public_id]) in cards

    deliver("case_assigned_to_clinician", case=case, timestamp=1_700_000_100)
    case.refresh_from_db()
    assert case.status == CaseStatus.UNDER_REVIEW
    assert not case_open_action_requests(patient=case.patient).exists()
    assert ActionRequest.objects.filter(closed_at__isnull=False).count() == 3


def test_an_uploaded_id_becomes_the_mdi_patients_driver_license(case, deliver, send, fake_mdi):
    deliver("drivers_license_requested", patient_id=MDI_PATIENT, metadata="", access_link="")
    action = ActionRequest.objects.get()
    send(reverse("cases:action_upload", args=[action.pk]), {"file": _jpeg("license.jpg")})
    license_id = fake_mdi.patients[MDI_PATIENT]["driver_license_id"]
    assert fake_mdi.files[license_id]["type"] == "driver-license"
    assert IdentityDocument.objects.get(patient=case.patient).mdi_file_id == license_id
    action.refresh_from_db()
    assert action.closed_at is not None


def test_an_uploaded_photo_is_attached_to_the_case(case, deliver, send, fake_mdi):
    deliver("file_upload_requested", case=case, access_link="")
    action = ActionRequest.objects.get()
    send(reverse("cases:action_upload", args=[action.pk]), {"file": _jpeg()})
    (file_id,) = fake_mdi.files
    assert fake_mdi.cases[case.mdi_case_id].files == [file_id]
    action.refresh_from_db()
    assert (action.mdi_file_id, action.closed_at is not None) == (file_id, True)


def test_a_disguised_upload_is_refused_with_a_message(case, deliver, patient_client, fake_mdi):
    deliver("drivers_license_requested", patient_id=MDI_PATIENT, metadata="", access_link="")
    action = ActionRequest.objects.get()
    response = patient_client.post(
        reverse("cases:action_upload", args=[action.pk]), {"file": _php_as_jpeg()}, follow=True
    )
    assert "file type isn't accepted" in html.unescape(response.content.decode())
    assert not IdentityDocument.objects.exists()
    assert fake_mdi.files == {}
    action.refresh_from_db()
    assert action.closed_at is None

    response = patient_client.post(
        reverse("cases:message_send", args=[case.public_id]),
        {"text": "Here it is", "photo": _php_as_jpeg()},
        follow=True,
    )
    assert "file type isn't accepted" in html.unescape(response.content.decode())
    assert not CaseMessage.objects.exists()


def test_another_patients_case_message_and_request_are_404(case, deliver, patient_client):
    other = CaseFactory(patient__mdi_patient_id="someone-else")
    theirs = CaseMessage.objects.create(
        case=other,
        direction=MessageDirection.OUT,
        sender=MessageSender.PATIENT,
        text="private",
        status=MessageStatus.FAILED,
    )
    their_request = ActionRequest.objects.create(case=other, kind=ActionRequestKind.FILE_UPLOAD)
    urls = [
        reverse("cases:message_send", args=[other.public_id]),
        reverse("cases:message_retry", args=[other.public_id, theirs.pk]),
        reverse("cases:message_retry", args=[case.public_id, theirs.pk]),
        reverse("cases:action_upload", args=[their_request.pk]),
    ]
    for url in urls:
        assert patient_client.post(url, {"text": "hi", "file": _jpeg()}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == MessageStatus.FAILED
    assert not IdentityDocument.objects.exists()


def test_a_reply_while_the_broker_is_down_is_kept_and_never_a_500(case, send, monkeypatch):
    from cases import tasks

    def broker_down(**ids):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.case_message_send_task, "delay", broker_down)
    response = send(reverse("cases:message_send", args=[case.public_id]), {"text": "Still here."})
    assert response.status_code == 302
    assert CaseMessage.objects.get().status == MessageStatus.SENDING  # kept, not lost
