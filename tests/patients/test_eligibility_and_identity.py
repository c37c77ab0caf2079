import datetime
import html
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from patients.models import Patient, StateWaitlistEntry
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _years_ago(years: int, days: int = 0, today: datetime.date | None = None) -> str:
    """The birth date of someone turning `years` today (minus `days`). On 29 February the
    anniversary in a common year is 28 February, as patients.services.age_on counts it."""
    today = today or timezone.localdate()
    try:
        anniversary = today.replace(year=today.year - years)
    except ValueError:  # 29 February, and the year `years` ago had none
        anniversary = today.replace(year=today.year - years, day=28)
    return (anniversary - datetime.timedelta(days=days)).isoformat()


@pytest.mark.parametrize("today", [datetime.date(2028, 2, 29), datetime.date(2027, 6, 1)])
def test_the_years_ago_helper_is_right_on_every_day(today):
    from patients.services import age_on

    born = datetime.date.fromisoformat(_years_ago(18, today=today))
    just_short = datetime.date.fromisoformat(_years_ago(18, days=-1, today=today))
    assert age_on(date_of_birth=born, today=today) == 18
    assert age_on(date_of_birth=just_short, today=today) == 17


def test_a_new_patient_is_sent_to_the_eligibility_screen_first(patient_client):
    response = patient_client.get(reverse("patients:start"))
    assert response.url == reverse("patients:eligibility")
    page = patient_client.get(response.url).content.decode()
    assert '<label for="id_state">State of residence</label>' in page
    assert '<label for="id_date_of_birth">Date of birth</label>' in page


def test_the_emailed_link_after_signup_lands_on_the_eligibility_screen(client):
    client.post(
        reverse("accounts:signup"),
        {
            "email": "new@example.com",
            "password1": "a-long-unusual-pass",
            "password2": "a-long-unusual-pass",
        },
    )
    link = re.search(r"/accounts/verify/\S+/", mail.outbox[0].body).group(0)
    response = client.post(link, follow=True)
    assert response.redirect_chain[-1][0] == reverse("patients:eligibility")


def test_an_unsupported_state_is_a_kind_stop_with_a_waitlist_and_nothing_is_stored(
    patient_client, user
):
    response = patient_client.post(
        reverse("patients:eligibility"), {"state": "AK", "date_of_birth": _years_ago(30)}
    )
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "We're not in Alaska yet" in page
    assert "Tell me when you serve Alaska" in page
    patient = Patient.objects.get(user=user)
    assert patient.eligibility_confirmed_at is None and patient.date_of_birth is None
    assert patient_client.get(reverse("patients:start")).url == reverse("patients:eligibility")


def test_the_waitlist_keeps_one_entry_per_email_and_state(patient_client, user):
    for _ in range(2):
        patient_client.post(reverse("patients:waitlist"), {"state": "AK"})
    assert list(StateWaitlistEntry.objects.values_list("email", "state")) == [(user.email, "AK")]


def test_the_waitlist_uses_the_accounts_own_email_and_ignores_a_posted_one(patient_client, user):
    """Otherwise a signed-in user could sign strangers' addresses up for our emails."""
    response = patient_client.post(
        reverse("patients:waitlist"), {"email": "Stranger@Example.com", "state": "AK"}
    )
    assert response.status_code == 302
    assert list(StateWaitlistEntry.objects.values_list("email", "state")) == [(user.email, "AK")]


def test_the_waitlist_form_shows_the_accounts_email_and_asks_for_none(patient_client, user):
    response = patient_client.post(
        reverse("patients:eligibility"), {"state": "AK", "date_of_birth": _years_ago(30)}
    )
    page = response.content.decode()
    assert user.email in page
    assert 'name="email"' not in page


def test_the_waitlist_is_throttled_per_account(patient_client, monkeypatch):
    import types

    import django_ratelimit.core

    # One fixed instant: the throttle's window cannot roll over mid-test.
    monkeypatch.setattr(django_ratelimit.core, "time", types.SimpleNamespace(time=lambda: 1.7e9))
    for _ in range(5):
        assert patient_client.post(reverse("patients:waitlist"), {"state": "AK"}).status_code == 302
    response = patient_client.post(reverse("patients:waitlist"), {"state": "AK"})
    assert response.status_code == 429
    assert "Too many requests" in response.content.decode()


def test_under_the_minimum_age_is_stopped(patient_client, user):
    response = patient_client.post(
        reverse("patients:eligibility"), {"state": "CA", "date_of_birth": _years_ago(18, days=-1)}
    )
    assert "You need to be 18 or older" in response.content.decode()
    assert Patient.objects.get(user=user).eligibility_confirmed_at is None


def test_the_questionnaire_can_raise_the_minimum_age(patient_client, demo_version):
    demo_version.questionnaire.minimum_age = 21
    demo_version.questionnaire.save()
    response = patient_client.post(
        reverse("patients:eligibility"), {"state": "CA", "date_of_birth": _years_ago(20)}
    )
    assert "You need to be 21 or older" in response.content.decode()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"state": "CA", "date_of_birth": "2999-01-01"}, "can't be in the future"),
        ({"state": "CA", "date_of_birth": "1850-01-01"}, "check the year"),
        ({"state": "", "date_of_birth": ""}, "This field is required."),
        ({"state": "ZZ", "date_of_birth": "1990-01-01"}, "Select a valid choice"),
    ],
)
def test_bad_eligibility_input_is_a_field_error_that_keeps_the_input(patient_client, data, error):
    response = patient_client.post(reverse("patients:eligibility"), data)
    page = html.unescape(response.content.decode())
    assert error in page
    assert 'id="error-summary"' in page
    if data["date_of_birth"]:
        assert f'value="{data["date_of_birth"]}"' in page


def test_eligible_patients_move_on_to_identity(patient_client, user):
    response = patient_client.post(
        reverse("patients:eligibility"), {"state": "CA", "date_of_birth": _years_ago(30)}
    )
    assert response.url == reverse("patients:start")
    assert patient_client.get(response.url).url == reverse("patients:identity")
    patient = Patient.objects.get(user=user)
    assert patient.state_of_residence == "CA"


IDENTITY = {
    "legal_first_name": "Dana",
    "legal_last_name": "Reyes",
    "sex_at_birth": "female",
    "phone": "(415) 555-0123",
    "address_line1": "1 Main St",
    "address_line2": "",
    "city": "Oakland",
    "address_state": "CA",
    "zip_code": "94601",
}


def test_identity_is_saved_encrypted_and_apart_from_answers(client):
    patient = PatientFactory(eligible=True)
    client.force_login(patient.user)
    page = client.get(reverse("patients:identity")).content.decode()
    for label in ("Legal first name", "Legal last name", "Phone number"):
        assert f">{label}</label>" in page
    response = client.post(reverse("patients:identity"), IDENTITY)
    assert response.url == reverse("patients:start")
    patient.refresh_from_db()
    assert (patient.legal_first_name, patient.phone) == ("Dana", "4155550123")
    assert patient.shipping_address["city"] == "Oakland"
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT legal_first_name, phone, shipping_address FROM patients_patient WHERE id = %s",
            [patient.pk],
        )
        raw = " ".join(cursor.fetchone())
    assert "Dana" not in raw and "4155550123" not in raw and "Oakland" not in raw


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"phone": "12345"}, "10-digit US phone number"),
        ({"zip_code": "9460"}, "5-digit ZIP code"),
        ({"address_state": "NY"}, "can only be shipped within California"),
        ({"legal_last_name": ""}, "This field is required."),
    ],
)
def test_identity_errors_keep_everything_typed(client, override, error):
    patient = PatientFactory(eligible=True)
    client.force_login(patient.user)
    response = client.post(reverse("patients:identity"), {**IDENTITY, **override})
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert error in page
    assert 'value="Dana"' in page and 'value="1 Main St"' in page
    patient.refresh_from_db()
    assert patient.identity_completed_at is None


def test_identity_cannot_be_reached_before_eligibility(patient_client):
    assert patient_client.get(reverse("patients:identity")).url == reverse("patients:eligibility")


def test_staff_are_sent_to_the_admin_not_into_the_patient_flow(admin_client):
    assert admin_client.get(reverse("patients:start")).url == reverse("admin:index")


def test_anonymous_visitors_must_sign_in(client):
    for name in (
        "patients:start",
        "patients:eligibility",
        "patients:identity",
        "patients:photo_id",
    ):
        assert reverse("accounts:login") in client.get(reverse(name)).url
