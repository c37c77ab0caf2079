"""Signed-in sessions end after the role's idle timeout (patients 30 min, staff 15 min) and
after an absolute lifetime however active the user is. Time is moved by ageing the clocks the
session stores, so the server-side session itself is still alive and only the check can end it;
one test moves the real clock to show the session store ends it too."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.middleware import ACTIVE_AT, SIGNED_IN_AT
from tests.accounts.factories import DEFAULT_PASSWORD, StaffUserFactory, UserFactory
from tests.cases.factories import CaseFactory
from tests.staff import staff_login
from tests.webhooks.helpers import mdi_body, post_mdi

pytestmark = pytest.mark.django_db
MINUTE = 60


def _age(client: Client, *, idle: float | None = None, signed_in: float | None = None) -> None:
    """Pretend the last activity was `idle` seconds ago and the sign-in `signed_in` ago."""
    session = client.session
    now = timezone.now().timestamp()
    if idle is not None:
        session[ACTIVE_AT] = now - idle
    if signed_in is not None:
        session[SIGNED_IN_AT] = now - signed_in
    session.save()


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _assert_signed_out_with(client: Client, response, message: str) -> None:
    assert response.status_code == 302
    assert response.url == reverse("accounts:login")
    assert not _signed_in(client)
    page = client.get(response.url).content.decode()
    assert message in page


@pytest.fixture
def patient(db):
    return UserFactory()


@pytest.fixture
def patient_session(client, patient):
    client.force_login(patient)
    return client


@pytest.fixture
def staff_session(db):
    return staff_login(Client(), StaffUserFactory(is_superuser=True))


def test_signing_in_starts_both_clocks(client, patient):
    before = timezone.now().timestamp()
    response = client.post(
        reverse("accounts:login"), {"username": patient.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302 and _signed_in(client)
    assert client.session[SIGNED_IN_AT] >= before
    assert client.session[ACTIVE_AT] == client.session[SIGNED_IN_AT]


def test_a_patient_idle_29_minutes_is_still_signed_in_and_the_clock_restarts(patient_session):
    _age(patient_session, idle=29 * MINUTE)
    before = timezone.now().timestamp()
    assert patient_session.get(reverse("cases:dashboard")).status_code == 200
    assert _signed_in(patient_session)
    assert patient_session.session[ACTIVE_AT] >= before


def test_a_patient_idle_31_minutes_is_signed_out_and_told_why(patient_session):
    _age(patient_session, idle=31 * MINUTE)
    response = patient_session.get(reverse("cases:dashboard"))
    _assert_signed_out_with(
        patient_session,
        response,
        "You were signed out after 30 minutes without activity, to protect your health information.",
    )


def test_a_sign_out_by_timeout_also_refuses_a_post(patient_session):
    """A form left open for an hour does not go through on the old session."""
    _age(patient_session, idle=31 * MINUTE)
    response = patient_session.post(
        reverse("patients:notification_preferences"), {"notify_by_email": "on"}
    )
    assert response.status_code == 302 and response.url == reverse("accounts:login")
    assert not _signed_in(patient_session)


def test_staff_idle_14_minutes_is_still_signed_in(staff_session):
    _age(staff_session, idle=14 * MINUTE)
    assert staff_session.get(reverse("admin:index")).status_code == 200
    assert _signed_in(staff_session)


def test_staff_idle_16_minutes_is_signed_out(staff_session):
    """16 minutes is well inside a patient's timeout: staff have their own, shorter one."""
    _age(staff_session, idle=16 * MINUTE)
    response = staff_session.get(reverse("admin:index"))
    _assert_signed_out_with(
        staff_session, response, "You were signed out after 15 minutes without activity"
    )


def test_the_absolute_lifetime_ends_a_session_however_active(patient_session):
    _age(patient_session, idle=1 * MINUTE, signed_in=12 * 60 * MINUTE - 30)
    assert patient_session.get(reverse("cases:dashboard")).status_code == 200  # 11 h 59 m 30 s
    _age(patient_session, idle=1 * MINUTE, signed_in=12 * 60 * MINUTE + 1)
    response = patient_session.get(reverse("cases:dashboard"))
    _assert_signed_out_with(
        patient_session, response, "You were signed out after 12 hours signed in"
    )


def test_a_session_without_a_recorded_sign_in_is_ended(patient_session):
    """A session from before this check existed: its age is unknown, so it gets none."""
    session = patient_session.session
    del session[SIGNED_IN_AT]
    session.save()
    response = patient_session.get(reverse("cases:dashboard"))
    assert response.status_code == 302 and not _signed_in(patient_session)


def test_settings_override_the_timeouts(settings, patient_session, staff_session):
    settings.SESSION_IDLE_TIMEOUT_PATIENT_SECONDS = 5 * MINUTE
    settings.SESSION_IDLE_TIMEOUT_STAFF_SECONDS = 2 * MINUTE
    settings.SESSION_ABSOLUTE_LIFETIME_SECONDS = 60 * MINUTE
    _age(patient_session, idle=4 * MINUTE)
    assert patient_session.get(reverse("cases:dashboard")).status_code == 200
    assert patient_session.session.get_expiry_age() == 5 * MINUTE
    _age(patient_session, idle=6 * MINUTE)
    _assert_signed_out_with(
        patient_session,
        patient_session.get(reverse("cases:dashboard")),
        "after 5 minutes without activity",
    )
    _age(staff_session, idle=3 * MINUTE)
    _assert_signed_out_with(
        staff_session, staff_session.get(reverse("admin:index")), "after 2 minutes"
    )


def test_the_session_and_its_cookie_expire_with_the_role_timeout(patient_session, staff_session):
    response = patient_session.get(reverse("cases:dashboard"))
    assert patient_session.session.get_expiry_age() == 30 * MINUTE
    assert response.cookies["sessionid"]["max-age"] == 30 * MINUTE
    response = staff_session.get(reverse("admin:index"))
    assert staff_session.session.get_expiry_age() == 15 * MINUTE
    assert response.cookies["sessionid"]["max-age"] == 15 * MINUTE


def test_the_session_store_itself_forgets_an_idle_session(patient_session, monkeypatch):
    """With the real clock moved on, the stored session has expired: nothing is left to check."""
    patient_session.get(reverse("cases:dashboard"))
    later = timezone.now() + datetime.timedelta(minutes=31)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    response = patient_session.get(reverse("cases:dashboard"))
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))
    assert not _signed_in(patient_session)


def test_a_status_poll_is_not_activity(patient_session, patient):
    """An open visit page polls every 20 s: that must not keep the session alive forever."""
    case = CaseFactory(patient__user=patient)
    poll = reverse("cases:detail_status", args=[case.public_id])
    _age(patient_session, idle=20 * MINUTE)
    stored = patient_session.session[ACTIVE_AT]
    assert patient_session.get(poll).status_code == 200
    assert patient_session.session[ACTIVE_AT] == stored
    _age(patient_session, idle=31 * MINUTE)
    assert patient_session.get(poll).status_code == 302
    assert not _signed_in(patient_session)


def test_a_page_view_is_activity_where_a_poll_is_not(patient_session, patient):
    case = CaseFactory(patient__user=patient)
    _age(patient_session, idle=20 * MINUTE)
    stored = patient_session.session[ACTIVE_AT]
    assert patient_session.get(reverse("cases:detail", args=[case.public_id])).status_code == 200
    assert patient_session.session[ACTIVE_AT] > stored


def test_health_and_webhooks_are_untouched(client):
    health = client.get(reverse("healthz"))
    assert health.status_code == 200
    assert "sessionid" not in health.cookies
    webhook = post_mdi(client, mdi_body("case_approved", case_id="unknown-case"))
    assert webhook.status_code == 200
    assert "sessionid" not in webhook.cookies
