"""A disqualifying answer holds the questionnaire for INTAKE_DISQUALIFICATION_WAIT_DAYS, and the
clinician of the next visit is told about the earlier stop."""

import datetime
import html

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Case
from cases.services.submission import case_send_to_mdi, case_submit
from core.exceptions import DomainError
from intake.models import QuestionnaireResponse, ResponseStatus
from intake.services import IntakeWaitingPeriod, questionnaire_response_start
from tests.intake.factories import PREGNANCY_QUESTION, stopped_intake
from tests.mdi.fake_mdi import client_for
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(db):
    from patients.models import IdentityDocument

    patient = PatientFactory(identified=True)
    IdentityDocument.objects.create(
        patient=patient, kind="photo_id", stored_name="x.jpg", mime_type="image/jpeg", size=1
    )
    return patient


@pytest.fixture
def stopped(patient, demo_version, demo_structure):
    return stopped_intake(patient=patient, version=demo_version, structure=demo_structure)


def _days_ago(response: QuestionnaireResponse, days: float) -> None:
    """Travel in time: the stop happened `days` ago."""
    QuestionnaireResponse.objects.filter(pk=response.pk).update(
        stopped_at=timezone.now() - datetime.timedelta(days=days)
    )


# --- the service ----------------------------------------------------------------------------


def test_restarting_at_once_after_a_stop_is_refused_and_creates_nothing(
    patient, stopped, demo_version, settings
):
    settings.INTAKE_DISQUALIFICATION_WAIT_DAYS = 30
    with pytest.raises(IntakeWaitingPeriod) as refused:
        questionnaire_response_start(patient=patient, version=demo_version)
    assert refused.value.allowed_at == stopped.stopped_at + datetime.timedelta(days=30)
    assert isinstance(refused.value, DomainError)
    assert QuestionnaireResponse.objects.filter(patient=patient).count() == 1


def test_a_day_before_the_period_ends_it_is_still_refused(patient, stopped, demo_version):
    _days_ago(stopped, 29)
    with pytest.raises(IntakeWaitingPeriod):
        questionnaire_response_start(patient=patient, version=demo_version)


def test_after_the_period_a_new_intake_starts(patient, stopped, demo_version, settings):
    settings.INTAKE_DISQUALIFICATION_WAIT_DAYS = 30
    _days_ago(stopped, 30.01)
    response = questionnaire_response_start(patient=patient, version=demo_version)
    assert response.pk != stopped.pk and response.status == ResponseStatus.IN_PROGRESS


def test_zero_days_turns_the_wait_off(patient, stopped, demo_version, settings):
    settings.INTAKE_DISQUALIFICATION_WAIT_DAYS = 0
    response = questionnaire_response_start(patient=patient, version=demo_version)
    assert response.status == ResponseStatus.IN_PROGRESS


def test_a_shorter_setting_shortens_the_wait(patient, stopped, demo_version, settings):
    settings.INTAKE_DISQUALIFICATION_WAIT_DAYS = 2
    _days_ago(stopped, 1)
    with pytest.raises(IntakeWaitingPeriod):
        questionnaire_response_start(patient=patient, version=demo_version)
    _days_ago(stopped, 2.01)
    assert questionnaire_response_start(patient=patient, version=demo_version).pk != stopped.pk


def test_a_new_version_of_the_same_questionnaire_is_held_too(patient, stopped, demo_version):
    from intake.services import (
        questionnaire_version_create_draft_from,
        questionnaire_version_publish,
    )

    newer = questionnaire_version_publish(
        version=questionnaire_version_create_draft_from(version=demo_version)
    )
    with pytest.raises(IntakeWaitingPeriod):
        questionnaire_response_start(patient=patient, version=newer)


def test_another_patients_stop_holds_nobody_else(stopped, demo_version):
    other = PatientFactory(identified=True)
    assert questionnaire_response_start(patient=other, version=demo_version).patient == other


def test_an_intake_already_in_progress_is_resumed_whatever_the_stops(
    patient, stopped, demo_version, settings
):
    """The wait only prevents starting anew; it never hides a draft the patient has (one
    begun while the wait was off, say)."""
    settings.INTAKE_DISQUALIFICATION_WAIT_DAYS = 0
    draft = questionnaire_response_start(patient=patient, version=demo_version)
    settings.INTAKE_DISQUALIFICATION_WAIT_DAYS = 30
    assert questionnaire_response_start(patient=patient, version=demo_version) == draft


# --- the pages ------------------------------------------------------------------------------


def test_the_start_page_explains_calmly_when_they_can_try_again(client, patient, stopped):
    client.force_login(patient.user)
    response = client.get(reverse("intake:start"))
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    allowed = timezone.localtime(stopped.stopped_at + datetime.timedelta(days=30))
    assert f"You can start a new visit from {allowed:%B} {allowed.day}, {allowed.year}" in page
    assert "contact support" in page
    assert PREGNANCY_QUESTION not in page  # the page names no answer or question
    assert QuestionnaireResponse.objects.filter(patient=patient).count() == 1


def test_new_visit_shows_the_same_page_instead_of_starting(client, patient, stopped):
    client.force_login(patient.user)
    for method in ("get", "post"):
        response = getattr(client, method)(reverse("cases:new_visit"))
        assert response.status_code == 200
        assert "You can start a new visit from" in response.content.decode()
    assert QuestionnaireResponse.objects.filter(patient=patient).count() == 1


def test_after_the_period_the_start_page_begins_an_intake(client, patient, stopped):
    _days_ago(stopped, 31)
    client.force_login(patient.user)
    response = client.get(reverse("intake:start"))
    new = QuestionnaireResponse.objects.get(patient=patient, status=ResponseStatus.IN_PROGRESS)
    assert response.url == reverse("intake:step", args=[new.public_id, 1])
    assert client.get(reverse("cases:new_visit")).url == reverse("intake:start")


def test_with_the_wait_off_the_start_page_begins_an_intake(client, patient, stopped, settings):
    settings.INTAKE_DISQUALIFICATION_WAIT_DAYS = 0
    client.force_login(patient.user)
    assert client.get(reverse("intake:start")).status_code == 302
    assert QuestionnaireResponse.objects.filter(status=ResponseStatus.IN_PROGRESS).count() == 1


# --- the clinician is told ------------------------------------------------------------------


def _case_questions(fake_mdi) -> list[dict]:
    (sent,) = fake_mdi.cases.values()
    return sent.payload["case_questions"]


def _earlier(questions: list[dict]) -> list[dict]:
    return [q for q in questions if q["question"].startswith("Earlier intake stopped")]


def test_the_next_case_sent_to_mdi_names_the_earlier_stop(completed, fake_mdi, demo_structure):
    patient, response = completed
    earlier = _stop_before(patient, response, days=40)
    case = case_submit(patient=patient, response=response)
    case_send_to_mdi(case_id=case.pk, client=client_for(fake_mdi))
    (item,) = _earlier(_case_questions(fake_mdi))
    assert item["question"] == (
        f"Earlier intake stopped: {earlier.stopped_at.date().isoformat()}, "
        f"at question: {PREGNANCY_QUESTION}"
    )
    assert item["answer"] == "Yes" and item["important"] is True
    # The intake's own answers are all still there, the earlier stop after them.
    assert len(_case_questions(fake_mdi)) == len(response.answer_order) + 1
    assert _case_questions(fake_mdi)[-1] == item
    assert Case.objects.get().submission_status == "sent"


def test_stops_older_than_a_year_are_not_sent(completed, fake_mdi):
    patient, response = completed
    _stop_before(patient, response, days=400)
    case = case_submit(patient=patient, response=response)
    case_send_to_mdi(case_id=case.pk, client=client_for(fake_mdi))
    assert _earlier(_case_questions(fake_mdi)) == []


def test_a_patient_with_no_stops_gets_no_extra_question(completed, fake_mdi):
    patient, response = completed
    case = case_submit(patient=patient, response=response)
    case_send_to_mdi(case_id=case.pk, client=client_for(fake_mdi))
    assert _earlier(_case_questions(fake_mdi)) == []
    assert len(_case_questions(fake_mdi)) == len(response.answer_order)


def test_another_patients_stop_is_never_sent(completed, fake_mdi, demo_version, demo_structure):
    patient, response = completed
    stopped_intake(
        patient=PatientFactory(identified=True), version=demo_version, structure=demo_structure
    )
    case = case_submit(patient=patient, response=response)
    case_send_to_mdi(case_id=case.pk, client=client_for(fake_mdi))
    assert _earlier(_case_questions(fake_mdi)) == []


def _stop_before(patient, response, *, days: int) -> QuestionnaireResponse:
    """A stopped intake of the same questionnaire, `days` before the completed one."""
    from intake.structure import version_structure_load

    stop = stopped_intake(
        patient=patient,
        version=response.version,
        structure=version_structure_load(version=response.version),
    )
    _days_ago(stop, days)
    stop.refresh_from_db()
    return stop
