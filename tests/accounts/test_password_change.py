"""A signed-in user changes their password: the current one is asked for, every other session
ends, this one stays, and the owner is emailed (without any health information)."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.accounts.factories import DEFAULT_PASSWORD, UserFactory
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-fresh-unusual-pass-7"


def _change(client: Client, old: str = DEFAULT_PASSWORD, new: str = NEW_PASSWORD):
    return client.post(
        reverse("accounts:password_change"),
        {"old_password": old, "new_password1": new, "new_password2": new},
    )


@pytest.fixture
def patient():
    return PatientFactory(identified=True)


@pytest.fixture
def two_sessions(patient):
    """The same patient signed in on two devices: A changes the password, B is the other one."""
    device_a, device_b = Client(), Client()
    device_a.force_login(patient.user)
    device_b.force_login(patient.user)
    return device_a, device_b


def test_the_page_needs_a_signed_in_user(client):
    response = client.get(reverse("accounts:password_change"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
    assert client.get(reverse("accounts:password_change_done")).status_code == 302


def test_the_dashboard_links_to_it_beside_the_notification_choices(patient_client):
    page = patient_client.get(reverse("cases:dashboard")).content.decode()
    assert reverse("accounts:password_change") in page
    assert reverse("patients:notification_preferences") in page


def test_a_change_keeps_this_session_and_ends_every_other(two_sessions, patient):
    device_a, device_b = two_sessions
    response = _change(device_a)
    assert response.status_code == 302
    assert response.url == reverse("accounts:password_change_done")
    patient.user.refresh_from_db()
    assert patient.user.check_password(NEW_PASSWORD)
    assert device_a.get(reverse("accounts:password_change_done")).status_code == 200
    assert device_a.get(reverse("cases:dashboard")).status_code == 200

    on_b = device_b.get(reverse("cases:dashboard"))
    assert on_b.status_code == 302 and on_b.url.startswith(reverse("accounts:login"))
    assert "_auth_user_id" not in device_b.session


def test_the_owner_is_emailed_without_health_information(two_sessions, patient):
    device_a, _ = two_sessions
    _change(device_a)
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == [patient.user.email]
    assert "password was changed" in sent.subject
    text = sent.subject + sent.body
    for phi in ("Dana", "Reyes", "Oakland", "1988", NEW_PASSWORD, DEFAULT_PASSWORD):
        assert phi not in text
    assert reverse("accounts:password_reset") in sent.body  # what to do if it wasn't them


def test_a_wrong_current_password_changes_nothing_and_ends_nothing(two_sessions, patient):
    device_a, device_b = two_sessions
    response = _change(device_a, old="not-the-password")
    assert response.status_code == 200
    assert 'id="error-summary"' in response.content.decode()
    patient.user.refresh_from_db()
    assert patient.user.check_password(DEFAULT_PASSWORD)
    assert mail.outbox == []
    assert device_b.get(reverse("cases:dashboard")).status_code == 200


def test_a_weak_new_password_is_refused(two_sessions, patient):
    device_a, _ = two_sessions
    response = _change(device_a, new="password1")
    assert response.status_code == 200
    patient.user.refresh_from_db()
    assert patient.user.check_password(DEFAULT_PASSWORD)
    assert mail.outbox == []


def test_guessing_the_current_password_is_throttled(client):
    """A borrowed session is not an unlimited oracle for the account's password."""
    client.force_login(UserFactory())
    for _ in range(10):
        assert _change(client, old="a-wrong-guess").status_code == 200
    assert _change(client, old="a-wrong-guess").status_code == 429
    assert _change(client).status_code == 429  # even the right one, until the window passes
