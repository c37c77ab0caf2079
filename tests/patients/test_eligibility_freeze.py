"""Once a visit is submitted, the patient's state and date of birth are frozen for them; support
corrects them in the admin, and each correction is access-logged."""

import datetime
import html

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from core.models import AccessLog, AccessLogAction
from core.roles import MEDICAL_ADVISORS, SUPPORT_STAFF
from patients.models import Patient
from patients.services import EligibilityFrozen, patient_check_eligibility
from tests.accounts.factories import StaffUserFactory
from tests.cases.factories import CaseFactory
from tests.patients.factories import PatientFactory
from tests.staff import staff_login

pytestmark = pytest.mark.django_db

BORN = datetime.date(1988, 4, 12)  # PatientFactory's eligible date of birth, in CA
CHANGED = {"state": "NY", "date_of_birth": "1990-01-02"}


@pytest.fixture(params=["submitted", "not submitted"])
def patient(request):
    """The same identified patient, with and without a submitted visit."""
    patient = PatientFactory(identified=True)
    if request.param == "submitted":
        CaseFactory(patient=patient)
    return patient


def _is_frozen(patient: Patient) -> bool:
    return patient.cases.exists()


def _unchanged(patient: Patient) -> bool:
    before = patient.eligibility_confirmed_at
    patient.refresh_from_db()
    return (patient.state_of_residence, patient.date_of_birth) == ("CA", BORN) and (
        patient.eligibility_confirmed_at == before
    )


def test_the_eligibility_page_is_read_only_after_submission(client, patient):
    client.force_login(patient.user)
    response = client.get(reverse("patients:eligibility"))
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    if _is_frozen(patient):
        assert "California" in page and "April 12, 1988" in page
        assert "To correct these, contact support" in page
        assert 'name="state"' not in page and 'name="date_of_birth"' not in page
    else:
        assert 'name="state"' in page and 'name="date_of_birth"' in page
        assert "To correct these, contact support" not in page


def test_posting_new_values_after_submission_is_refused_and_changes_nothing(client, patient):
    client.force_login(patient.user)
    response = client.post(reverse("patients:eligibility"), CHANGED)
    if _is_frozen(patient):
        assert response.status_code == 403
        assert "To correct these, contact support" in response.content.decode()
        assert _unchanged(patient)
    else:
        assert response.status_code == 302
        patient.refresh_from_db()
        assert (patient.state_of_residence, patient.date_of_birth) == (
            "NY",
            datetime.date(1990, 1, 2),
        )


def test_the_service_refuses_after_submission_too(patient):
    if not _is_frozen(patient):
        decision = patient_check_eligibility(
            patient=patient, state="NY", date_of_birth=datetime.date(1990, 1, 2)
        )
        assert decision.is_eligible
        return
    with pytest.raises(EligibilityFrozen):
        patient_check_eligibility(
            patient=patient, state="NY", date_of_birth=datetime.date(1990, 1, 2)
        )
    assert _unchanged(patient)


def test_the_identity_page_shows_them_read_only_with_the_way_to_correct_them(client, patient):
    client.force_login(patient.user)
    page = html.unescape(client.get(reverse("patients:identity")).content.decode())
    assert ("To correct these, contact support" in page) is _is_frozen(patient)
    assert 'name="state"' not in page and 'name="date_of_birth"' not in page


def test_a_crafted_identity_post_cannot_change_them(client, patient):
    client.force_login(patient.user)
    client.post(
        reverse("patients:identity"),
        {
            **CHANGED,
            "state_of_residence": "NY",
            "legal_first_name": "Dana",
            "legal_last_name": "Reyes",
            "sex_at_birth": "female",
            "phone": "4155550123",
            "address_line1": "1 Main St",
            "city": "Oakland",
            "address_state": "CA",
            "zip_code": "94601",
        },
    )
    assert _unchanged(patient)


# --- support's correction in the admin --------------------------------------------------------


@pytest.fixture
def submitted():
    patient = PatientFactory(identified=True)
    CaseFactory(patient=patient)
    return patient


def _staff_client(client, group: str):
    user = StaffUserFactory()
    user.groups.add(Group.objects.get(name=group))
    return staff_login(client, user), user


def _correct(staff, patient, **values):
    data = {
        "state_of_residence": "CA",
        "date_of_birth": BORN.isoformat(),
        # The read-only ID inline still posts its (empty) management form.
        "documents-TOTAL_FORMS": "0",
        "documents-INITIAL_FORMS": "0",
        **values,
    }
    return staff.post(reverse("admin:patients_patient_change", args=[patient.pk]), data)


def test_support_corrects_them_in_the_admin_and_it_is_access_logged(client, submitted):
    staff, user = _staff_client(client, SUPPORT_STAFF)
    response = _correct(staff, submitted, state_of_residence="NY", date_of_birth="1988-04-21")
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert (submitted.state_of_residence, submitted.date_of_birth) == (
        "NY",
        datetime.date(1988, 4, 21),
    )
    entry = AccessLog.objects.get(action=AccessLogAction.CHANGE)
    assert (entry.actor, entry.object_type, entry.object_id, entry.patient_user_id) == (
        user,
        "patients.Patient",
        str(submitted.pk),
        submitted.user_id,
    )
    assert "NY" not in entry.path and "1988" not in entry.path


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"state_of_residence": "AK"}, "Alaska is not a state we serve."),
        ({"date_of_birth": "2020-01-01"}, "The patient would be under 18."),
        ({"date_of_birth": "2999-01-01"}, "The date of birth is in the future."),
    ],
)
def test_a_correction_that_would_make_the_patient_ineligible_is_refused(
    client, submitted, values, message
):
    staff, _ = _staff_client(client, SUPPORT_STAFF)
    response = _correct(staff, submitted, **values)
    assert response.status_code == 200 and message in html.unescape(response.content.decode())
    assert _unchanged(submitted)
    assert not AccessLog.objects.filter(action=AccessLogAction.CHANGE).exists()


def test_saving_without_a_change_logs_no_change(client, submitted):
    staff, _ = _staff_client(client, SUPPORT_STAFF)
    assert _correct(staff, submitted).status_code == 302
    assert _unchanged(submitted)
    assert not AccessLog.objects.filter(action=AccessLogAction.CHANGE).exists()


def test_support_corrects_nothing_else(client, submitted):
    staff, _ = _staff_client(client, SUPPORT_STAFF)
    _correct(staff, submitted, legal_last_name="Other", phone="2125550100")
    submitted.refresh_from_db()
    assert (submitted.legal_last_name, submitted.phone) == ("Reyes", "4155550123")


def test_advisors_cannot_correct(client, submitted):
    staff, _ = _staff_client(client, MEDICAL_ADVISORS)
    assert _correct(staff, submitted, state_of_residence="NY").status_code == 403
    assert _unchanged(submitted)


def test_staff_who_only_view_patients_cannot_correct(client, submitted):
    from django.contrib.auth.models import Permission

    user = StaffUserFactory()
    user.user_permissions.add(Permission.objects.get(codename="view_patient"))
    staff = staff_login(client, user)
    assert _correct(staff, submitted, state_of_residence="NY").status_code == 403
    assert _unchanged(submitted)
