"""Sending a case to MDI survives outages and crashes without duplicating anything."""

import pytest

from cases.models import Case, CaseStatus, Offering, SubmissionStatus
from cases.payloads import mdi_case_questions
from cases.services import CaseNotReady, case_send_to_mdi, case_submission_mark_failed, case_submit
from intake.models import QuestionnaireResponse
from intake.services import questionnaire_response_complete, questionnaire_response_start
from patients.services import identity_document_upload
from tests.cases.conftest import _jpeg
from tests.cases.fake_mdi import LostReply
from tests.intake.test_validation import _answer_all
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _submit(completed, django_capture_on_commit_callbacks) -> Case:
    patient, response = completed
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        case = case_submit(patient=patient, response=response)
    assert len(callbacks) == 1  # sending is enqueued after commit, never inside the request
    return case


def test_the_case_row_exists_before_any_call_to_mdi(
    completed, mdi, django_capture_on_commit_callbacks
):
    case = _submit(completed, django_capture_on_commit_callbacks)
    assert (case.status, case.submission_status, case.mdi_case_id) == (
        CaseStatus.SUBMITTED,
        SubmissionStatus.PENDING,
        None,
    )
    assert mdi.calls == []


def test_submitting_the_same_intake_twice_gives_one_case(
    completed, django_capture_on_commit_callbacks
):
    first = _submit(completed, django_capture_on_commit_callbacks)
    patient, response = completed
    assert case_submit(patient=patient, response=response) == first
    assert Case.objects.count() == 1


def test_a_happy_send_creates_one_patient_two_files_and_one_case(
    completed, mdi, django_capture_on_commit_callbacks
):
    case = _submit(completed, django_capture_on_commit_callbacks)
    case = case_send_to_mdi(case_id=case.pk, gateway=mdi)
    assert (len(mdi.patients), len(mdi.files), len(mdi.cases)) == (1, 2, 1)
    assert case.submission_status == SubmissionStatus.SENT
    assert case.mdi_case_id in mdi.cases
    sent = mdi.cases[case.mdi_case_id]
    assert sent["metadata"] == str(case.public_id)
    assert sorted(sent["case_files"]) == sorted(mdi.files)
    assert {f["type"] for f in mdi.files.values()} == {"driver-license", "photo"}
    patient = next(iter(mdi.patients.values()))
    assert (patient["gender"], patient["phone_number"], patient["date_of_birth"]) == (
        2,
        "(415) 555-0123",
        "1988-04-12",
    )
    case_send_to_mdi(case_id=case.pk, gateway=mdi)  # already sent: nothing happens
    assert len(mdi.cases) == 1


@pytest.mark.parametrize("lost", ["patient_create", "case_create"])
def test_a_lost_reply_never_creates_a_second_patient_or_case(
    completed, mdi, lost, django_capture_on_commit_callbacks
):
    case = _submit(completed, django_capture_on_commit_callbacks)
    mdi.lose_reply_of.add(lost)
    with pytest.raises(LostReply):
        case_send_to_mdi(case_id=case.pk, gateway=mdi)
    case = case_send_to_mdi(case_id=case.pk, gateway=mdi)  # the retry
    assert (len(mdi.patients), len(mdi.cases)) == (1, 1)
    assert case.submission_status == SubmissionStatus.SENT
    assert case.mdi_case_id == next(iter(mdi.cases))
    if lost == "case_create":
        assert "patient_case_ids_by_metadata" in mdi.calls  # reconciled, not re-created


@pytest.mark.parametrize("crash_after", ["patient_create", "file_upload", "case_create"])
def test_a_crash_after_each_saved_step_resumes_without_repeating_it(
    completed, mdi, crash_after, django_capture_on_commit_callbacks, monkeypatch
):
    """The process dies right after a step's result is saved: the retry skips that step."""
    from cases import services

    case = _submit(completed, django_capture_on_commit_callbacks)
    originals = {
        "patient_create": "_ensure_mdi_patient",
        "file_upload": "_ensure_mdi_files",
        "case_create": None,
    }
    if originals[crash_after]:
        real = getattr(services, originals[crash_after])

        def crash_after_saving(**kwargs):
            real(**kwargs)
            raise SystemExit("worker killed")

        monkeypatch.setattr(services, originals[crash_after], crash_after_saving)
        with pytest.raises(SystemExit):
            case_send_to_mdi(case_id=case.pk, gateway=mdi)
        monkeypatch.undo()
    else:  # the case id was saved and then the worker died before marking the case sent
        case_send_to_mdi(case_id=case.pk, gateway=mdi)
        Case.objects.filter(pk=case.pk).update(submission_status=SubmissionStatus.PENDING)
    case = case_send_to_mdi(case_id=case.pk, gateway=mdi)
    assert (len(mdi.patients), len(mdi.files), len(mdi.cases)) == (1, 2, 1)
    assert case.submission_status == SubmissionStatus.SENT


def test_an_mdi_patient_that_already_exists_is_reused(
    completed, mdi, django_capture_on_commit_callbacks
):
    patient, _ = completed
    mdi.patients["patient-existing"] = {"email": patient.user.email}
    case = _submit(completed, django_capture_on_commit_callbacks)
    case_send_to_mdi(case_id=case.pk, gateway=mdi)
    patient.refresh_from_db()
    assert patient.mdi_patient_id == "patient-existing"
    assert len(mdi.patients) == 1


def test_an_outage_past_the_retry_budget_shows_as_failed_and_support_can_retry(
    completed, mdi, django_capture_on_commit_callbacks
):
    case = _submit(completed, django_capture_on_commit_callbacks)
    mdi.down = True
    from core.exceptions import TransientError

    with pytest.raises(TransientError):
        case_send_to_mdi(case_id=case.pk, gateway=mdi)
    case_submission_mark_failed(
        case_id=case.pk, reason="MDI unavailable after retries: maintenance"
    )
    case.refresh_from_db()
    assert (case.submission_status, case.status) == (SubmissionStatus.FAILED, CaseStatus.SUBMITTED)
    assert "maintenance" in case.submission_error
    mdi.down = False
    case = case_send_to_mdi(case_id=case.pk, gateway=mdi)
    assert case.submission_status == SubmissionStatus.SENT and case.submission_error == ""


def test_a_half_complete_intake_is_never_sent(demo_version, mdi):
    patient = PatientFactory(identified=True)
    identity_document_upload(patient=patient, uploaded=_jpeg("license.jpg"))
    response = questionnaire_response_start(patient=patient, version=demo_version)
    with pytest.raises(CaseNotReady, match="not complete"):
        case_submit(patient=patient, response=response)
    case = Case.objects.create(patient=patient, intake_response=response)  # even if a row exists
    with pytest.raises(CaseNotReady):
        case_send_to_mdi(case_id=case.pk, gateway=mdi)
    assert mdi.calls == []


def test_a_patient_without_a_photo_id_is_not_sent(demo_version, demo_structure, mdi):
    patient = PatientFactory(identified=True)
    response = _answer_all(patient, demo_version, demo_structure, lambda: _jpeg("scalp.jpg"))
    questionnaire_response_complete(response=response, structure=demo_structure)
    with pytest.raises(CaseNotReady, match="photo ID"):
        case_submit(patient=patient, response=QuestionnaireResponse.objects.get(pk=response.pk))


def test_case_questions_carry_the_wording_the_patient_saw(completed):
    _, response = completed
    questions = {q["question"]: q for q in mdi_case_questions(response=response)}
    pattern = questions["Which best describes where you are losing hair?"]
    assert pattern == {
        "question": "Which best describes where you are losing hair?",
        "answer": "Thinning at the crown",
        "type": "string",
        "important": True,
        "display_in_pdf": True,
        "displayed_options": [
            "A receding hairline",
            "Thinning at the crown",
            "Both hairline and crown",
            "Thinning all over",
            "Round or patchy bald spots",
        ],
    }
    assert questions["Has a parent or sibling had similar hair loss?"]["answer"] == "true"
    assert questions["Has a parent or sibling had similar hair loss?"]["type"] == "boolean"
    assert all(q["answer"] for q in questions.values())


def test_question_text_over_255_characters_moves_the_rest_to_description(completed):
    _, response = completed
    answers = response.answers
    answers["family-history"]["text"] = "x" * 300
    response.answers = answers
    question = next(
        q for q in mdi_case_questions(response=response) if q["question"].startswith("x")
    )
    assert (len(question["question"]), question["description"]) == (255, "x" * 45)


def test_the_task_marks_the_case_failed_after_its_retry_budget(
    completed, mdi, monkeypatch, django_capture_on_commit_callbacks
):
    from cases import gateway
    from cases.tasks import case_send_to_mdi_task

    mdi.down = True
    monkeypatch.setattr(gateway, "mdi_gateway", lambda: mdi)
    case = _submit(completed, django_capture_on_commit_callbacks)
    case_send_to_mdi_task.apply(kwargs={"case_id": case.pk})
    case.refresh_from_db()
    assert case.submission_status == SubmissionStatus.FAILED
    assert "MDI unavailable after retries" in case.submission_error
    assert mdi.calls.count("patient_create") == case_send_to_mdi_task.max_retries + 1


def test_a_refusal_by_mdi_fails_at_once_with_its_message(
    completed, mdi, monkeypatch, django_capture_on_commit_callbacks
):
    from cases import gateway
    from cases.mdi_client import MdiRequestError
    from cases.tasks import case_send_to_mdi_task

    def refuse(**kwargs):
        raise MdiRequestError(
            status=422, message="The offering id is invalid.", path="/v1/partner/cases"
        )

    monkeypatch.setattr(mdi, "case_create", refuse)
    monkeypatch.setattr(gateway, "mdi_gateway", lambda: mdi)
    case = _submit(completed, django_capture_on_commit_callbacks)
    case_send_to_mdi_task.apply(kwargs={"case_id": case.pk})
    case.refresh_from_db()
    assert case.submission_status == SubmissionStatus.FAILED
    assert "The offering id is invalid." in case.submission_error


def test_the_whole_case_payload_from_a_real_completed_response(
    completed, mdi, django_capture_on_commit_callbacks
):
    Offering.objects.create(
        name="Finasteride 1 mg", mdi_offering_id="off-1", questionnaire_slug="hair-loss"
    )
    Offering.objects.create(
        name="Retired", mdi_offering_id="off-old", questionnaire_slug="hair-loss", is_active=False
    )
    case = case_send_to_mdi(
        case_id=_submit(completed, django_capture_on_commit_callbacks).pk, gateway=mdi
    )
    sent = mdi.cases[case.mdi_case_id]
    photo_id, scalp = sorted(mdi.files, key=lambda f: mdi.files[f]["type"])
    assert sent == {
        "patient_id": next(iter(mdi.patients)),
        "metadata": str(case.public_id),
        "hold_status": False,
        "case_offerings": [{"offering_id": "off-1"}],
        "case_files": [photo_id, scalp],
        "case_questions": [
            {"question": "How long have you noticed hair loss?", "answer": "1 to 5 years", "type": "string", "important": True, "display_in_pdf": True,
             "displayed_options": ["Less than 6 months", "6 to 12 months", "1 to 5 years", "More than 5 years"]},
            {"question": "Which best describes where you are losing hair?", "answer": "Thinning at the crown", "type": "string", "important": True, "display_in_pdf": True,
             "displayed_options": ["A receding hairline", "Thinning at the crown", "Both hairline and crown", "Thinning all over", "Round or patchy bald spots"]},
            {"question": "Has a parent or sibling had similar hair loss?", "answer": "true", "type": "boolean", "important": False, "display_in_pdf": True},
            {"question": "Did your hair loss start suddenly, over weeks rather than years?", "answer": "false", "type": "boolean", "important": True, "display_in_pdf": True},
            {"question": "Which treatments have you tried before?", "answer": "Minoxidil (Rogaine)", "type": "string", "important": False, "display_in_pdf": True,
             "displayed_options": ["Minoxidil (Rogaine)", "Finasteride (Propecia)", "Biotin or hair vitamins", "Nothing yet"]},
            {"question": "Are you pregnant, trying to become pregnant, or breastfeeding?", "answer": "false", "type": "boolean", "important": True, "display_in_pdf": True},
            {"question": "Have you ever been diagnosed with any of these?", "answer": "None of these", "type": "string", "important": True, "display_in_pdf": True,
             "displayed_options": ["Liver disease", "Prostate cancer or a raised PSA", "Depression or anxiety", "Low blood pressure or fainting", "Heart disease", "None of these"]},
            {"question": "Do you take any prescription or over-the-counter medicines or supplements?", "answer": "false", "type": "boolean", "important": True, "display_in_pdf": True},
            {"question": "Do you have any allergies to medicines?", "answer": "false", "type": "boolean", "important": True, "display_in_pdf": True},
            {"question": "A photo of the top of your head, in good light", "answer": "Photo attached to this case", "type": "string", "important": False, "display_in_pdf": True},
            {"question": "Do you have a treatment preference?", "answer": "Both together", "type": "string", "important": False, "display_in_pdf": True,
             "displayed_options": ["Finasteride tablets", "Minoxidil applied to the scalp", "Both together", "I'd like the clinician to recommend"]},
            {"question": "Please confirm", "answer": "My answers are true and complete to the best of my knowledge", "type": "string", "important": False, "display_in_pdf": True,
             "displayed_options": ["My answers are true and complete to the best of my knowledge"]},
        ],
    }  # fmt: skip
    assert mdi.files[photo_id]["type"] == "driver-license" and mdi.files[scalp]["type"] == "photo"


def test_support_retries_a_failed_submission_from_the_admin(
    completed, mdi, client, monkeypatch, django_capture_on_commit_callbacks
):
    from django.contrib.auth.models import Group
    from django.urls import reverse

    from cases import gateway
    from core.roles import SUPPORT_STAFF
    from tests.accounts.factories import StaffUserFactory

    monkeypatch.setattr(gateway, "mdi_gateway", lambda: mdi)
    case = _submit(completed, django_capture_on_commit_callbacks)
    case_submission_mark_failed(case_id=case.pk, reason="MDI unavailable after retries: 503")
    support = StaffUserFactory()
    support.groups.add(Group.objects.get(name=SUPPORT_STAFF))
    client.force_login(support)
    page = client.get(reverse("admin:cases_case_change", args=[case.pk])).content.decode()
    assert "MDI unavailable after retries: 503" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:cases_case_changelist"),
            {"action": "retry_submission", "_selected_action": [case.pk]},
        )
    case.refresh_from_db()
    assert case.submission_status == SubmissionStatus.SENT
    assert len(mdi.cases) == 1
