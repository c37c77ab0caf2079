"""Property: whatever faults MDI's network throws at the three creates (patient, file, case),
sending a visit ends with exactly one MDI patient and one active MDI case for it, every file
attached once, and our case linked to that one MDI case."""

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.models import Case, Offering, SubmissionStatus
from cases.services.submission import case_send_to_mdi, case_submit
from intake.models import QuestionnaireResponse
from intake.services import questionnaire_response_complete
from patients.services import identity_document_upload
from tests.cases.conftest import DEMO_OFFERING_ID, _jpeg
from tests.intake.test_validation import _answer_all
from tests.mdi.fake_mdi import ACTING_FAULTS, NOT_ACTING_FAULTS, FakeMdi, client_for
from tests.patients.factories import PatientFactory
from tests.payments.factories import sandbox_paid

FAULTS = st.sampled_from(sorted(ACTING_FAULTS | NOT_ACTING_FAULTS))
CREATES = ("patient_create", "file_upload", "case_create")
# Each round is one task run; between rounds the sweeper finds the postponed send due.
MAX_ROUNDS = 8


def _submitted_case(demo_version, demo_structure) -> Case:
    patient = PatientFactory(identified=True)
    identity_document_upload(patient=patient, uploaded=_jpeg("license.jpg"))
    response = _answer_all(patient, demo_version, demo_structure, lambda: _jpeg("scalp.jpg"))
    questionnaire_response_complete(response=response, structure=demo_structure)
    response = QuestionnaireResponse.objects.get(pk=response.pk)
    sandbox_paid(patient=patient, response=response)
    return case_submit(patient=patient, response=response)


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(faults=st.fixed_dictionaries({op: st.lists(FAULTS, max_size=5) for op in CREATES}))
def test_any_faults_on_the_creates_leave_one_patient_and_one_case(
    demo_version, demo_structure, django_capture_on_commit_callbacks, faults
):
    Offering.objects.get_or_create(
        questionnaire_slug="hair-loss",
        mdi_offering_id=DEMO_OFFERING_ID,
        defaults={"name": "F", "price_minor": 4900},
    )
    with django_capture_on_commit_callbacks(execute=False):
        case = _submitted_case(demo_version, demo_structure)
    fake = FakeMdi()
    for operation, queued in faults.items():
        fake.fail(operation, *queued)

    for _ in range(MAX_ROUNDS):
        case = case_send_to_mdi(case_id=case.pk, client=client_for(fake))
        if case.submission_status != SubmissionStatus.PENDING:
            break
        Case.objects.filter(pk=case.pk).update(submission_next_attempt_at=timezone.now())

    assert case.submission_status == SubmissionStatus.SENT, case.submission_error
    (mdi_patient_id,) = fake.patients
    (mdi_case,) = fake.active_cases_for(str(case.public_id))
    assert (fake.cases.keys(), case.mdi_case_id) == ({mdi_case.case_id}, mdi_case.case_id)
    attached = mdi_case.payload["case_files"]
    assert len(attached) == len(set(attached)) == 1  # the scalp photo, once
    assert fake.files[attached[0]]["type"] == "photo"
    license_id = fake.patients[mdi_patient_id]["driver_license_id"]
    assert fake.files[license_id]["type"] == "driver-license"
    assert mdi_case.patient_id == mdi_patient_id
    case.patient.refresh_from_db()
    assert case.patient.mdi_patient_id == mdi_patient_id
