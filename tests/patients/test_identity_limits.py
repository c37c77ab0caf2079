"""Identity values must fit MD Integrations' documented limits when entered, never be cut."""

import html

import pytest
from django.urls import reverse

from patients.selectors import patient_mdi_identity_problems
from tests.accounts.factories import UserFactory
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db

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

LINE1_TOO_LONG = (
    "Our clinical partner accepts at most 35 characters here. Put the rest (apartment, suite, "
    "building) on the second address line. You entered 36."
)
LINE2_TOO_LONG = (
    "Our clinical partner accepts at most 35 characters on the second address line. "
    'Please shorten it, for example "Apt" for "Apartment". You entered 36.'
)
NAME_TOO_LONG = (
    "Our clinical partner accepts at most 35 characters for a name. "
    "Please enter it as it appears on your ID, within that limit. You entered 36."
)
CITY_TOO_LONG = (
    "Our clinical partner accepts at most 35 characters for the city. "
    "Please use the shortest name your post office accepts. You entered 36."
)


def _stored(patient, field: str) -> str:
    patient.refresh_from_db()
    keys = {"address_line1": "line1", "address_line2": "line2", "city": "city"}
    if field in keys:
        return patient.shipping_address[keys[field]]
    return getattr(patient, field)


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("legal_first_name", NAME_TOO_LONG),
        ("legal_last_name", NAME_TOO_LONG),
        ("address_line1", LINE1_TOO_LONG),
        ("address_line2", LINE2_TOO_LONG),
        ("city", CITY_TOO_LONG),
    ],
)
def test_36_characters_are_refused_beside_the_field_keeping_the_input_and_35_are_kept_whole(
    client, field, message
):
    patient = PatientFactory(eligible=True)
    client.force_login(patient.user)

    too_long = "Q" * 36
    response = client.post(reverse("patients:identity"), {**IDENTITY, field: too_long})
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert f'<p class="field-error" id="id_{field}_error">{message}</p>' in page
    assert f'value="{too_long}"' in page  # what was typed, not a cut copy
    patient.refresh_from_db()
    assert patient.identity_completed_at is None

    exactly = "Q" * 35
    response = client.post(reverse("patients:identity"), {**IDENTITY, field: exactly})
    assert response.url == reverse("patients:start")
    assert _stored(patient, field) == exactly


def test_the_browser_is_told_the_limits_too(client):
    patient = PatientFactory(eligible=True)
    client.force_login(patient.user)
    page = client.get(reverse("patients:identity")).content.decode()
    for field in ("legal_first_name", "legal_last_name", "address_line1", "address_line2", "city"):
        assert f'name="{field}"' in page
        tag = page.split(f'name="{field}"', 1)[1].split(">", 1)[0]
        assert 'maxlength="35"' in tag, field


def test_a_long_street_is_refused_then_accepted_split_over_two_lines(client):
    patient = PatientFactory(eligible=True)
    client.force_login(patient.user)
    street = "12345 North Martin Luther King Junior Blvd Apt 4B"
    response = client.post(reverse("patients:identity"), {**IDENTITY, "address_line1": street})
    page = html.unescape(response.content.decode())
    assert "Put the rest (apartment, suite, building) on the second address line." in page
    assert f'value="{street}"' in page

    split = {"address_line1": "12345 N Martin Luther King Jr Blvd", "address_line2": "Apt 4B"}
    response = client.post(reverse("patients:identity"), {**IDENTITY, **split})
    assert response.url == reverse("patients:start")
    patient.refresh_from_db()
    assert patient.shipping_address["line1"] == "12345 N Martin Luther King Jr Blvd"
    assert patient.shipping_address["line2"] == "Apt 4B"


def test_a_too_long_second_line_is_refused_saying_how_many_characters_it_takes(client):
    patient = PatientFactory(eligible=True)
    client.force_login(patient.user)
    line2 = "Apartment 4B, Building C, Riverside Towers"
    response = client.post(reverse("patients:identity"), {**IDENTITY, "address_line2": line2})
    page = html.unescape(response.content.decode())
    assert "at most 35 characters on the second address line" in page
    assert f'value="{line2}"' in page
    patient.refresh_from_db()
    assert patient.shipping_address is None


def test_stored_values_over_the_limits_are_reported_for_the_send_gate():
    patient = PatientFactory(identified=True, legal_last_name="L" * 40)
    patient.shipping_address = {**patient.shipping_address, "line1": "S" * 40}
    patient.save()
    assert patient_mdi_identity_problems(patient=patient) == [
        "Legal last name is 40 characters; MD Integrations accepts at most 35.",
        "Street address (line 1) is 40 characters; MD Integrations accepts at most 35.",
    ]


def test_every_field_over_its_limit_is_reported_once_without_its_value():
    user = UserFactory(email="e" * 69 + "@example.com")  # 81 characters, stored before the fix
    patient = PatientFactory(
        identified=True,
        user=user,
        legal_first_name="F" * 36,
        legal_last_name="L" * 36,
        shipping_address={
            "line1": "1" * 36,
            "line2": "2" * 37,
            "city": "C" * 38,
            "state": "CA",
            "zip": "94601",
        },
    )
    problems = patient_mdi_identity_problems(patient=patient)
    assert problems == [
        "Legal first name is 36 characters; MD Integrations accepts at most 35.",
        "Legal last name is 36 characters; MD Integrations accepts at most 35.",
        "Street address (line 1) is 36 characters; MD Integrations accepts at most 35.",
        "Street address (line 2) is 37 characters; MD Integrations accepts at most 35.",
        "City is 38 characters; MD Integrations accepts at most 35.",
        "Email address is 81 characters; MD Integrations accepts at most 80.",
    ]
    assert not any("FFFF" in problem or "eeee" in problem for problem in problems)


def test_a_valid_patient_has_no_problems_even_at_exactly_the_limits():
    assert patient_mdi_identity_problems(patient=PatientFactory(identified=True)) == []
    at_limits = PatientFactory(
        identified=True,
        user=UserFactory(email="e" * 68 + "@example.com"),  # 80 characters
        legal_first_name="F" * 35,
        legal_last_name="L" * 35,
        shipping_address={
            "line1": "1" * 35,
            "line2": None,
            "city": "C" * 35,
            "state": "CA",
            "zip": "94601",
        },
    )
    assert patient_mdi_identity_problems(patient=at_limits) == []
