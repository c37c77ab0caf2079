"""Sending a visit to MDI: exactly one MDI patient and one active MDI case per visit, whatever
MDI's network does, tested against a fake MDI that can fail after it has acted."""

import datetime

import pytest
from django.utils import timezone

from cases.models import Case, CaseStatus, DuplicateMdiCase, Offering, SubmissionStatus
from cases.payloads import mdi_case_questions
from cases.services.submission import (
    MAX_SUBMISSION_ATTEMPTS,
    CaseNotReady,
    case_duplicate_cancel,
    case_send_to_mdi,
    case_submission_claim,
    case_submission_retry,
    case_submissions_sweep,
    case_submit,
)
from intake.models import QuestionnaireResponse
from intake.services import questionnaire_response_complete, questionnaire_response_start
from patients.services import identity_document_upload
from tests.cases.conftest import DEMO_OFFERING_ID, _jpeg
from tests.intake.test_validation import _answer_all
from tests.mdi.fake_mdi import NOT_ACTING_FAULTS, FakeMdi, client_for
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(completed, django_capture_on_commit_callbacks) -> Case:
    patient, response = completed
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        case = case_submit(patient=patient, response=response)
    # Sending to MDI and the "visit submitted" email: both after commit, never in the request.
    assert len(callbacks) == 2
    return case


def _send(case: Case, fake: FakeMdi) -> Case:
    return case_send_to_mdi(case_id=case.pk, client=client_for(fake))


def _creates(fake: FakeMdi, path: str) -> int:
    return fake.requests.count(f"POST /v1/partner/{path}")


def test_the_case_row_exists_before_any_call_to_mdi(submitted, fake_mdi):
    assert (submitted.status, submitted.submission_status, submitted.mdi_case_id) == (
        CaseStatus.SUBMITTED,
        SubmissionStatus.PENDING,
        None,
    )
    assert fake_mdi.requests == []


def test_a_happy_send_makes_one_patient_one_case_and_puts_the_photo_id_on_the_patient(
    submitted, fake_mdi
):
    case = _send(submitted, fake_mdi)
    assert (len(fake_mdi.patients), len(fake_mdi.cases), len(fake_mdi.files)) == (1, 1, 2)
    assert case.submission_status == SubmissionStatus.SENT and case.submitted_at
    mdi_case = fake_mdi.cases[case.mdi_case_id]
    patient = next(iter(fake_mdi.patients.values()))
    license_id = patient["driver_license_id"]
    assert fake_mdi.files[license_id]["type"] == "driver-license"
    # The intake photo goes on the case; the photo ID on the patient, where MDI documents it.
    assert [fake_mdi.files[f]["type"] for f in mdi_case.payload["case_files"]] == ["photo"]
    assert mdi_case.metadata == str(case.public_id)
    assert _send(case, fake_mdi).submission_status == SubmissionStatus.SENT  # sent: nothing
    assert len(fake_mdi.cases) == 1


def test_a_patient_mdi_already_knows_gets_the_photo_id_by_patch(submitted, fake_mdi):
    patient = submitted.patient
    patient.mdi_patient_id = "known-patient"
    patient.save()
    fake_mdi.patients["known-patient"] = {"email": patient.user.email}
    _send(submitted, fake_mdi)
    assert "PATCH /v1/partner/patients/known-patient" in fake_mdi.requests
    license_id = fake_mdi.patients["known-patient"]["driver_license_id"]
    assert fake_mdi.files[license_id]["type"] == "driver-license"
    assert _creates(fake_mdi, "patients") == 0


def test_one_timeout_after_mdi_created_the_case_leaves_exactly_one_case(submitted, fake_mdi):
    fake_mdi.fail("case_create", "timeout_after")
    case = _send(submitted, fake_mdi)
    assert len(fake_mdi.cases) == 1
    assert case.mdi_case_id == next(iter(fake_mdi.cases))
    assert case.submission_status == SubmissionStatus.SENT
    # Never re-sent: after the lost reply MDI was asked, and the case was there.
    assert _creates(fake_mdi, "cases") == 1
    assert fake_mdi.requests[-2:] == [
        "POST /v1/partner/cases",
        f"GET /v1/partner/patients/{case.patient.mdi_patient_id}/cases",
    ]


def test_four_timeouts_on_case_create_still_leave_one_case(submitted, fake_mdi):
    fake_mdi.fail("case_create", *["timeout_after"] * 4)
    case = _send(submitted, fake_mdi)  # the first create took; the reconciliation finds it
    assert len(fake_mdi.cases) == 1 and case.submission_status == SubmissionStatus.SENT


@pytest.mark.parametrize("fault", ["timeout_after", "reset_after", "500_after", "html_after"])
def test_a_patient_create_with_an_unknown_outcome_is_found_not_made_twice(
    submitted, fake_mdi, fault
):
    fake_mdi.fail("patient_create", fault)
    case = _send(submitted, fake_mdi)
    assert len(fake_mdi.patients) == 1 and _creates(fake_mdi, "patients") == 1
    case.patient.refresh_from_db()
    assert case.patient.mdi_patient_id == next(iter(fake_mdi.patients))


@pytest.mark.parametrize("fault", sorted(NOT_ACTING_FAULTS))
def test_failures_known_to_happen_before_mdi_acted_are_simply_retried(submitted, fake_mdi, fault):
    fake_mdi.fail("case_create", fault)
    case = _send(submitted, fake_mdi)
    assert len(fake_mdi.cases) == 1 and case.submission_status == SubmissionStatus.SENT
    listings = [r for r in fake_mdi.requests if r.endswith("/cases") and r.startswith("GET")]
    if fault in {"connect_refused", "timeout_before", "429", "503_retry"}:
        assert len(listings) == 1  # the look before creating; the retry needed no second look
    assert _creates(fake_mdi, "cases") == 2


def test_a_lost_upload_reply_leaves_an_orphan_but_attaches_one_file(submitted, fake_mdi):
    fake_mdi.fail("file_upload", "timeout_before", "timeout_after")
    case = _send(submitted, fake_mdi)
    attached = fake_mdi.cases[case.mdi_case_id].payload["case_files"]
    assert len(attached) == len(set(attached)) == 1
    assert len(fake_mdi.files) == 3  # the photo ID, the scalp photo, and one orphan


def test_an_outage_postpones_the_send_and_the_sweeper_retries_it(submitted, fake_mdi, monkeypatch):
    from cases.services import submission

    fake_mdi.fail("patient_create", *["500_before"] * 4)
    case = _send(submitted, fake_mdi)
    assert case.submission_status == SubmissionStatus.PENDING
    assert "HTTP 500" in case.submission_error and case.submission_next_attempt_at
    assert _send(case, fake_mdi).submission_attempts == 1  # not due yet: nothing happens
    queued = []
    monkeypatch.setattr(submission, "_enqueue_send", queued.append)
    due = case.submission_next_attempt_at
    case_submissions_sweep(now=due - datetime.timedelta(seconds=1))
    assert queued == []
    case_submissions_sweep(now=due + datetime.timedelta(seconds=1))
    assert queued == [case.pk]
    Case.objects.filter(pk=case.pk).update(submission_next_attempt_at=timezone.now())
    case = _send(case, fake_mdi)
    assert case.submission_status == SubmissionStatus.SENT and case.submission_error == ""
    assert (len(fake_mdi.patients), len(fake_mdi.cases)) == (1, 1)


def test_too_many_transient_failures_hand_the_case_to_support(submitted, fake_mdi):
    Case.objects.filter(pk=submitted.pk).update(submission_attempts=MAX_SUBMISSION_ATTEMPTS - 1)
    fake_mdi.fail("patient_create", *["500_before"] * 4)
    case = _send(submitted, fake_mdi)
    assert case.submission_status == SubmissionStatus.FAILED
    assert f"MDI unavailable after {MAX_SUBMISSION_ATTEMPTS} attempts" in case.submission_error


def test_a_refusal_by_mdi_fails_at_once_with_its_message(submitted, fake_mdi):
    fake_mdi.fail("case_create", "422")
    case = _send(submitted, fake_mdi)
    assert case.submission_status == SubmissionStatus.FAILED
    assert "The selected offering id is invalid." in case.submission_error
    assert _creates(fake_mdi, "cases") == 1 and fake_mdi.cases == {}


# --- the submission state machine -------------------------------------------------------------


def test_only_one_sender_holds_a_submission_at_a_time(submitted):
    assert case_submission_claim(case_id=submitted.pk) is not None
    assert case_submission_claim(case_id=submitted.pk) is None  # the lease is held


def test_support_retry_never_races_a_send_in_flight(submitted, fake_mdi):
    case_submission_claim(case_id=submitted.pk)  # a worker is sending right now
    assert case_submission_retry(case=submitted) is False
    assert _send(submitted, fake_mdi).submission_status == SubmissionStatus.SENDING
    assert fake_mdi.requests == []  # the second sender did nothing


def test_a_sender_that_died_is_taken_over_once_its_lease_expires(submitted, fake_mdi, monkeypatch):
    from cases.services import submission

    case_submission_claim(case_id=submitted.pk)
    Case.objects.filter(pk=submitted.pk).update(
        submission_lease_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    queued = []
    monkeypatch.setattr(submission, "_enqueue_send", queued.append)
    case_submissions_sweep()
    assert queued == [submitted.pk]
    case = _send(submitted, fake_mdi)
    assert case.submission_status == SubmissionStatus.SENT and case.submission_attempts == 2
    assert len(fake_mdi.cases) == 1


def test_support_requeues_a_failed_submission_from_the_admin(
    submitted, fake_mdi, client, django_capture_on_commit_callbacks
):
    from django.contrib.auth.models import Group
    from django.urls import reverse

    from core.roles import SUPPORT_STAFF
    from tests.accounts.factories import StaffUserFactory
    from tests.staff import staff_login

    fake_mdi.fail("patient_create", *["500_before"] * 4)
    Case.objects.filter(pk=submitted.pk).update(submission_attempts=MAX_SUBMISSION_ATTEMPTS - 1)
    assert _send(submitted, fake_mdi).submission_status == SubmissionStatus.FAILED
    support = StaffUserFactory()
    support.groups.add(Group.objects.get(name=SUPPORT_STAFF))
    staff_login(client, support)
    page = client.get(reverse("admin:cases_case_change", args=[submitted.pk])).content.decode()
    assert "MDI unavailable after" in page
    for _ in range(2):  # clicked twice: one send, one case
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                reverse("admin:cases_case_changelist"),
                {"action": "retry_submission", "_selected_action": [submitted.pk]},
            )
    submitted.refresh_from_db()
    assert submitted.submission_status == SubmissionStatus.SENT
    assert len(fake_mdi.cases) == 1


# --- duplicates that MDI made late ------------------------------------------------------------


def test_a_create_that_lands_late_is_found_in_a_later_listing_and_cancelled(
    submitted, fake_mdi, django_capture_on_commit_callbacks
):
    fake_mdi.fail("case_create", "late")
    case = _send(submitted, fake_mdi)  # reconciliation found nothing, so it created again
    assert case.submission_status == SubmissionStatus.SENT
    (late_id,) = fake_mdi.land_late()
    assert len(fake_mdi.active_cases_for(str(case.public_id))) == 2
    # The next look at MDI (here: a resend after a crash) sees both and keeps the linked one.
    Case.objects.filter(pk=case.pk).update(submission_status=SubmissionStatus.PENDING)
    with django_capture_on_commit_callbacks(execute=True):
        _send(case, fake_mdi)
    duplicate = DuplicateMdiCase.objects.get()
    assert (duplicate.mdi_case_id, duplicate.case_id) == (late_id, case.pk)
    assert duplicate.cancelled_at is not None
    assert fake_mdi.cases[late_id].status == "cancelled"
    assert [c.case_id for c in fake_mdi.active_cases_for(str(case.public_id))] == [
        Case.objects.get(pk=case.pk).mdi_case_id
    ]


def test_cancelling_a_duplicate_is_safe_to_repeat_and_an_outage_is_retried(submitted, fake_mdi):
    case = _send(submitted, fake_mdi)
    fake_mdi.cases["dup"] = type(fake_mdi.cases[case.mdi_case_id])("dup", "", "", {})
    duplicate = DuplicateMdiCase.objects.create(case=case, mdi_case_id="dup", found_by="webhook")
    fake_mdi.fail("case_cancel", *["500_before"] * 4)
    duplicate = case_duplicate_cancel(duplicate_id=duplicate.pk, client=client_for(fake_mdi))
    assert duplicate.cancelled_at is None and duplicate.next_cancel_attempt_at
    duplicate = case_duplicate_cancel(duplicate_id=duplicate.pk, client=client_for(fake_mdi))
    assert duplicate.cancelled_at is not None
    fake_mdi.cases["dup"].status = "cancelled"
    again = case_duplicate_cancel(duplicate_id=duplicate.pk, client=client_for(fake_mdi))
    assert again.cancel_attempts == 2  # already cancelled: no further call


# --- the gate ---------------------------------------------------------------------------------


def test_submitting_the_same_intake_twice_gives_one_case(completed, submitted):
    patient, response = completed
    assert case_submit(patient=patient, response=response) == submitted
    assert Case.objects.count() == 1


def test_a_half_complete_intake_is_never_sent(demo_version, fake_mdi):
    patient = PatientFactory(identified=True)
    identity_document_upload(patient=patient, uploaded=_jpeg("license.jpg"))
    response = questionnaire_response_start(patient=patient, version=demo_version)
    with pytest.raises(CaseNotReady, match="not complete"):
        case_submit(patient=patient, response=response)
    case = Case.objects.create(patient=patient, intake_response=response)  # even if a row exists
    case = _send(case, fake_mdi)
    assert case.submission_status == SubmissionStatus.FAILED
    assert "not complete" in case.submission_error
    assert fake_mdi.requests == []


def test_a_patient_without_a_photo_id_is_not_sent(demo_version, demo_structure):
    patient = PatientFactory(identified=True)
    response = _answer_all(patient, demo_version, demo_structure, lambda: _jpeg("scalp.jpg"))
    questionnaire_response_complete(response=response, structure=demo_structure)
    with pytest.raises(CaseNotReady, match="photo ID"):
        case_submit(patient=patient, response=QuestionnaireResponse.objects.get(pk=response.pk))


def test_identity_stored_past_mdis_limits_is_refused_never_cut(submitted, fake_mdi):
    patient = submitted.patient
    patient.shipping_address = {
        **patient.shipping_address,
        "line1": "12345 North Martin Luther King Junior Blvd",
    }
    patient.save()
    case = _send(submitted, fake_mdi)
    assert case.submission_status == SubmissionStatus.FAILED
    assert "Street address (line 1)" in case.submission_error
    assert fake_mdi.patients == {}


def test_the_patient_payload_is_sent_exactly_as_entered(submitted, fake_mdi):
    patient = submitted.patient
    patient.legal_last_name = "Reyes-Montgomery-Castellanos-Smith"  # 34 characters: fits
    patient.shipping_address = {**patient.shipping_address, "zip": "94601-1234"}
    patient.save()
    _send(submitted, fake_mdi)
    sent = next(iter(fake_mdi.patients.values()))
    assert sent["last_name"] == "Reyes-Montgomery-Castellanos-Smith"
    assert sent["address"]["zip_code"] == "946011234"  # MDI takes 5 or 9 digits


def test_no_valid_offering_means_the_case_is_not_sent(completed):
    Offering.objects.update(mdi_offering_id="sandbox-offering-finasteride-1mg")
    patient, response = completed
    with pytest.raises(CaseNotReady, match="No treatment"):
        case_submit(patient=patient, response=response)


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


def test_the_whole_case_payload_from_a_real_completed_response(submitted, fake_mdi):
    Offering.objects.create(
        name="Retired",
        mdi_offering_id="11111111-2222-3333-4444-555555555555",
        questionnaire_slug="hair-loss",
        is_active=False,
    )
    case = _send(submitted, fake_mdi)
    sent = fake_mdi.cases[case.mdi_case_id].payload
    (scalp,) = [f for f, meta in fake_mdi.files.items() if meta["type"] == "photo"]
    assert {k: v for k, v in sent.items() if k != "case_questions"} == {
        "patient_id": next(iter(fake_mdi.patients)),
        "metadata": str(case.public_id),
        "hold_status": False,
        "case_offerings": [{"offering_id": DEMO_OFFERING_ID}],
        "case_files": [scalp],
    }
    assert [q["question"] for q in sent["case_questions"]] == [
        "How long have you noticed hair loss?",
        "Which best describes where you are losing hair?",
        "Has a parent or sibling had similar hair loss?",
        "Did your hair loss start suddenly, over weeks rather than years?",
        "Which treatments have you tried before?",
        # What the pregnancy question's rule relied on, copied from identity by the system.
        "Sex assigned at birth (from your identity details)",
        "Age in years (from your date of birth)",
        "Are you pregnant, trying to become pregnant, or breastfeeding?",
        "Have you ever been diagnosed with any of these?",
        "Do you take any prescription or over-the-counter medicines or supplements?",
        "Do you have any allergies to medicines?",
        "A photo of the top of your head, in good light",
        "Do you have a treatment preference?",
        "Please confirm",
    ]
