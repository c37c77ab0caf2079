"""A visit closed longer than CLOSED_VISIT_ANSWER_RETENTION_DAYS loses its local answers and
files; the digest and the date stay, the visit page explains, and each run is logged."""

import datetime
import hashlib
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, CaseStatus, Prescription, PrescriptionStatus
from cases.services.retention import closed_visit_answers_purge
from core.models import PurgeKind, PurgeLog
from core.uploads import private_storage
from intake.models import QuestionnaireResponse, ResponseAttachment
from tests.cases.factories import CaseFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()
LONG_AGO = NOW - datetime.timedelta(days=366)
PURGED_NOTICE = (
    "Your answers were removed from our systems on {date}; your clinician's records at our "
    "clinical partner keep them."
)


def _visit(completed_unpaid, *, status: str, closed_at: datetime.datetime) -> Case:
    patient, response = completed_unpaid
    case = CaseFactory(patient=patient, intake_response=response, status=status)
    Case.objects.filter(pk=case.pk).update(updated_at=closed_at)
    return case


@pytest.fixture
def declined_long_ago(completed_unpaid) -> Case:
    return _visit(completed_unpaid, status=CaseStatus.DECLINED, closed_at=LONG_AGO)


def _purge(django_capture_on_commit_callbacks) -> int:
    with django_capture_on_commit_callbacks(execute=True):
        return closed_visit_answers_purge(now=NOW)


def test_answers_and_attachment_files_of_a_long_closed_visit_are_removed(
    declined_long_ago, django_capture_on_commit_callbacks
):
    response = declined_long_ago.intake_response
    files = list(response.attachments.values_list("stored_name", flat=True))
    assert files and all(private_storage().exists(name) for name in files)
    expected_digest = hashlib.sha256(
        json.dumps(
            {
                "version": response.version.canonical,
                "answer_order": response.answer_order,
                "answers": response.answers,
            },
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        ).encode()
    ).hexdigest()

    assert _purge(django_capture_on_commit_callbacks) == 1

    response = QuestionnaireResponse.objects.get(pk=response.pk)
    assert (response.answers, response.answer_order) == ({}, [])
    assert response.answers_purged_at == NOW
    assert response.content_sha256 == expected_digest
    assert not ResponseAttachment.objects.filter(response=response).exists()
    assert not any(private_storage().exists(name) for name in files)
    log = PurgeLog.objects.get()
    assert (log.kind, log.rows, log.files) == (PurgeKind.CLOSED_VISIT_ANSWERS, 1, len(files))


def test_a_second_run_changes_nothing(declined_long_ago, django_capture_on_commit_callbacks):
    _purge(django_capture_on_commit_callbacks)
    assert _purge(django_capture_on_commit_callbacks) == 0
    assert PurgeLog.objects.count() == 1


@pytest.mark.parametrize(
    ("status", "closed_at"),
    [
        (CaseStatus.DECLINED, NOW - datetime.timedelta(days=10)),  # closed, but recently
        (CaseStatus.UNDER_REVIEW, LONG_AGO),  # old, but still open
        (CaseStatus.PRESCRIPTION_SENT, LONG_AGO),  # prescription still on its way
    ],
)
def test_open_or_recently_closed_visits_keep_their_answers(
    completed_unpaid, status, closed_at, django_capture_on_commit_callbacks
):
    case = _visit(completed_unpaid, status=status, closed_at=closed_at)
    if status == CaseStatus.PRESCRIPTION_SENT:
        Prescription.objects.create(case=case, status=PrescriptionStatus.SHIPPED)
        Prescription.objects.update(updated_at=LONG_AGO)
    assert _purge(django_capture_on_commit_callbacks) == 0
    assert QuestionnaireResponse.objects.get(pk=case.intake_response_id).answers
    assert not PurgeLog.objects.exists()


def test_a_delivered_prescription_closes_the_visit_from_its_last_change(
    completed_unpaid, django_capture_on_commit_callbacks
):
    case = _visit(completed_unpaid, status=CaseStatus.PRESCRIPTION_SENT, closed_at=LONG_AGO)
    Prescription.objects.create(case=case, status=PrescriptionStatus.DELIVERED)
    assert _purge(django_capture_on_commit_callbacks) == 0  # delivered just now
    Prescription.objects.update(updated_at=LONG_AGO)
    assert _purge(django_capture_on_commit_callbacks) == 1


def test_zero_days_keeps_answers_forever(
    declined_long_ago, settings, django_capture_on_commit_callbacks
):
    settings.CLOSED_VISIT_ANSWER_RETENTION_DAYS = 0
    assert _purge(django_capture_on_commit_callbacks) == 0
    assert QuestionnaireResponse.objects.get(pk=declined_long_ago.intake_response_id).answers


def test_the_visit_page_of_a_purged_visit_explains_instead_of_showing_answers(
    declined_long_ago, client, django_capture_on_commit_callbacks
):
    client.force_login(declined_long_ago.patient.user)
    url = reverse("cases:detail", args=[declined_long_ago.public_id])
    before = client.get(url).content.decode()
    assert "Your answers, as you submitted them" in before
    _purge(django_capture_on_commit_callbacks)
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode().replace("&#x27;", "'")
    assert PURGED_NOTICE.format(date=f"{NOW:%B} {NOW.day}, {NOW.year}") in page
    assert "Your answers, as you submitted them" not in page
    assert client.get(reverse("cases:dashboard")).status_code == 200


def test_the_case_admin_of_a_purged_visit_still_opens(
    declined_long_ago, client, django_capture_on_commit_callbacks
):
    from tests.accounts.factories import StaffUserFactory
    from tests.staff import staff_login

    _purge(django_capture_on_commit_callbacks)
    staff_login(client, StaffUserFactory(is_superuser=True))
    url = reverse("admin:cases_case_change", args=[declined_long_ago.pk])
    assert client.get(url).status_code == 200
    assert client.get(reverse("admin:core_purgelog_changelist")).status_code == 200


def test_the_command_counts_on_a_dry_run_and_purges_otherwise(
    declined_long_ago, capsys, django_capture_on_commit_callbacks
):
    call_command("purge_closed_visit_answers", "--dry-run")
    assert "Would purge the answers of 1 closed visits" in capsys.readouterr().out
    assert QuestionnaireResponse.objects.get(pk=declined_long_ago.intake_response_id).answers
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_closed_visit_answers")
    assert "Purged the answers of 1 closed visits" in capsys.readouterr().out
    assert not QuestionnaireResponse.objects.get(pk=declined_long_ago.intake_response_id).answers


def test_the_daily_task_is_scheduled(settings):
    from cases.tasks import closed_visit_answers_purge_task

    schedule = settings.CELERY_BEAT_SCHEDULE["closed-visit-answers-purge"]
    assert schedule["task"] == closed_visit_answers_purge_task.name
    assert schedule["schedule"] == 24 * 60 * 60


def test_photos_sent_in_messages_and_for_requests_are_removed_with_the_answers(
    declined_long_ago, django_capture_on_commit_callbacks
):
    from cases.models import ActionRequest, CaseMessage
    from core.uploads import upload_sanitize, upload_store
    from tests.cases.conftest import _jpeg

    def stored(folder: str) -> str:
        clean = upload_sanitize(uploaded=_jpeg("photo.jpg"), allowed_types={"image/jpeg"})
        return upload_store(sanitized=clean, folder=folder)

    message = CaseMessage.objects.create(
        case=declined_long_ago,
        direction="out",
        sender="patient",
        text="About two years.",
        photo_stored_name=stored("messages"),
        photo_mime_type="image/jpeg",
    )
    request = ActionRequest.objects.create(
        case=declined_long_ago,
        kind="file_upload",
        stored_name=stored("case-files"),
        mime_type="image/jpeg",
    )
    names = [message.photo_stored_name, request.stored_name]
    assert all(private_storage().exists(name) for name in names)
    intake_files = declined_long_ago.intake_response.attachments.count()

    assert _purge(django_capture_on_commit_callbacks) == 1

    message.refresh_from_db()
    request.refresh_from_db()
    assert (message.photo_stored_name, request.stored_name) == ("", "")
    assert message.text == "About two years."  # the conversation still reads
    assert not any(private_storage().exists(name) for name in names)
    assert PurgeLog.objects.get().files == intake_files + 2
