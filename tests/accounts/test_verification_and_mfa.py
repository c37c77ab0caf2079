"""Email verification, change of address, and two-step sign-in (staff must, patients may)."""

import html
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from core.models import SecurityEvent, SecurityEventKind
from tests.accounts.factories import DEFAULT_PASSWORD, StaffUserFactory, UserFactory
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-unusual-pass"


def _signup(client, email="new.person@example.com"):
    return client.post(
        reverse("accounts:signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


def _link(message) -> str:
    return re.search(r"https?://\S+/accounts/verify/(\S+)/", message.body).group(0)


def _path(url: str) -> str:
    return url[url.index("/accounts/") :]


# --- Verification -----------------------------------------------------------------------------


def test_the_emailed_link_confirms_only_on_post_and_signs_in_the_browser_that_signed_up(client):
    _signup(client)
    [message] = mail.outbox
    assert message.to == ["new.person@example.com"]
    url = _path(_link(message))

    page = client.get(url)  # what a mail scanner does: it must not confirm anything
    assert "Confirm my email address" in page.content.decode()
    assert User.objects.get().email_verified_at is None

    done = client.post(url)
    assert done.url == reverse("patients:start")
    user = User.objects.get()
    assert user.email_verified_at is not None
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_link_opened_in_another_browser_confirms_but_asks_for_the_password(client):
    _signup(client)
    other = Client()
    done = other.post(_path(_link(mail.outbox[0])))
    assert done.url == reverse("accounts:login")
    assert "_auth_user_id" not in other.session
    assert User.objects.get().email_verified_at is not None


def test_a_link_works_once_and_a_forged_or_expired_one_not_at_all(client, settings):
    _signup(client)
    url = _path(_link(mail.outbox[0]))
    client.post(url)
    again = Client().post(url)
    assert again.status_code == 400
    assert "already been used" in again.content.decode()

    assert Client().get(url[:-6] + "AAAAA/").status_code == 400

    _signup(Client(), "second@example.com")
    settings.EMAIL_VERIFICATION_MAX_AGE = -1
    expired = Client().post(_path(_link(mail.outbox[-1])))
    assert "expired" in expired.content.decode()
    assert User.objects.get(email="second@example.com").email_verified_at is None


def test_an_unverified_patient_sees_a_banner_and_can_ask_for_a_new_link(client):
    user = UserFactory(email_verified_at=None)
    client.force_login(user)
    page = client.get(reverse("cases:home"), follow=True).content.decode()
    assert "Please confirm your email address" in page
    client.post(reverse("accounts:verify_email_resend"))
    assert [m.to for m in mail.outbox] == [[user.email]]
    # The link in the new email works.
    assert client.post(_path(_link(mail.outbox[0]))).status_code == 302
    user.refresh_from_db()
    assert user.email_verified


def test_asking_for_links_is_throttled(client):
    client.force_login(UserFactory(email_verified_at=None))
    for _ in range(5):
        client.post(reverse("accounts:verify_email_resend"))
    assert client.post(reverse("accounts:verify_email_resend")).status_code == 429
    assert len(mail.outbox) == 5


# --- Change of address ------------------------------------------------------------------------


def test_changing_email_needs_the_current_password_and_keeps_what_was_typed(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        reverse("accounts:email_change"), {"email": "new@example.com", "password": "wrong"}
    )
    page = response.content.decode()
    assert "That is not your current password" in page
    assert 'value="new@example.com"' in page
    assert mail.outbox == []
    user.refresh_from_db()
    assert user.pending_email == ""


def test_a_new_address_takes_effect_only_from_its_inbox_and_ends_other_sessions(
    client, django_capture_on_commit_callbacks
):
    user = UserFactory(email="old@example.com")
    elsewhere = Client()
    elsewhere.force_login(user)
    client.force_login(user)
    client.post(
        reverse("accounts:email_change"), {"email": "New@Example.com", "password": DEFAULT_PASSWORD}
    )
    user.refresh_from_db()
    assert user.email == "old@example.com"  # not yet
    assert user.pending_email == "new@example.com"
    [link] = mail.outbox
    assert link.to == ["new@example.com"]

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(_path(_link(link))).url == reverse("cases:home")
    user.refresh_from_db()
    assert user.email == "new@example.com"
    assert user.pending_email == ""
    notice = mail.outbox[-1]
    assert notice.to == ["old@example.com"]
    assert "was changed" in notice.subject
    # This browser stays signed in; the other one is signed out.
    assert client.get(reverse("accounts:settings")).status_code == 200
    assert elsewhere.get(reverse("accounts:settings")).status_code == 302


def test_changing_to_an_address_with_an_account_reveals_nothing_and_changes_nothing(client):
    UserFactory(email="taken@example.com")
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        reverse("accounts:email_change"),
        {"email": "taken@example.com", "password": DEFAULT_PASSWORD},
    )
    assert "Check your new inbox" in response.content.decode()
    user.refresh_from_db()
    assert user.pending_email == ""
    assert [m.to for m in mail.outbox] == [["taken@example.com"]]  # its owner is told


def test_once_a_visit_has_gone_to_the_clinical_partner_support_changes_the_address(client):
    patient = PatientFactory(identified=True, mdi_patient_id="mdi-patient-1")
    client.force_login(patient.user)
    response = client.post(
        reverse("accounts:email_change"),
        {"email": "new@example.com", "password": DEFAULT_PASSWORD},
    )
    assert "changed by our support team" in response.content.decode()
    assert mail.outbox == []


# --- Two-step sign-in -------------------------------------------------------------------------


def _code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def _password_login(client, user, next_url=""):
    return client.post(
        reverse("accounts:login") + (f"?next={next_url}" if next_url else ""),
        {"username": user.email, "password": DEFAULT_PASSWORD},
    )


def test_staff_must_set_up_a_second_factor_before_reaching_admin_or_anything_else(client):
    staff = StaffUserFactory(is_superuser=True)
    _password_login(client, staff, "/staff/")
    assert client.get("/staff/").url.startswith(reverse("accounts:mfa_setup"))
    assert client.get(reverse("cases:home")).url.startswith(reverse("accounts:mfa_setup"))

    setup = client.get(reverse("accounts:mfa_setup") + "?next=/staff/")
    assert "<svg" in setup.content.decode()  # the QR code, drawn here
    wrong = client.post(reverse("accounts:mfa_setup"), {"code": "000000", "next": "/staff/"})
    assert "didn't match" in html.unescape(wrong.content.decode())
    device = TOTPDevice.objects.get(user=staff)
    done = client.post(reverse("accounts:mfa_setup"), {"code": _code(device), "next": "/staff/"})
    assert done.url == "/staff/"
    assert client.get("/staff/").status_code == 200
    staff.refresh_from_db()
    assert staff.two_factor_enabled


def test_staff_with_a_device_enter_a_code_after_the_password(client):
    staff = StaffUserFactory(is_superuser=True)
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    _password_login(client, staff, "/staff/")
    assert client.get("/staff/").url.startswith(reverse("accounts:mfa_verify"))
    # A code is only good once (a code seen over a shoulder cannot be replayed) ...
    code = _code(device)
    assert client.post(reverse("accounts:mfa_verify"), {"code": code}).url == "/staff/"
    again = Client()
    _password_login(again, staff)
    replay = again.post(reverse("accounts:mfa_verify"), {"code": code})
    assert replay.status_code == 200
    assert again.get("/staff/").status_code == 302


def test_wrong_codes_are_slowed_down(client):
    staff = StaffUserFactory()
    TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    _password_login(client, staff)
    for _ in range(3):
        client.post(reverse("accounts:mfa_verify"), {"code": "000000"})
    page = client.post(reverse("accounts:mfa_verify"), {"code": "000000"}).content.decode()
    assert "Too many wrong codes" in page
    events = SecurityEvent.objects.filter(kind=SecurityEventKind.SECOND_FACTOR_FAILED, user=staff)
    assert events.count() == 4


def test_admin_refuses_a_staff_session_that_has_only_a_password(client):
    """Even if the middleware were bypassed, the admin site itself checks the second factor."""
    from django.contrib import admin
    from django.test import RequestFactory

    staff = StaffUserFactory(is_superuser=True)
    request = RequestFactory().get("/staff/")
    request.user = staff
    staff.is_verified = lambda: False
    assert not admin.site.has_permission(request)


def test_a_patient_signed_in_gets_a_403_from_admin_not_a_loop(client):
    client.force_login(UserFactory())
    assert client.get("/staff/", follow=True).status_code == 403


def test_a_patient_can_turn_two_step_on_which_ends_other_sessions_and_then_off(client):
    user = UserFactory()
    elsewhere = Client()
    elsewhere.force_login(user)
    client.force_login(user)
    client.get(reverse("accounts:mfa_setup"))
    device = TOTPDevice.objects.get(user=user)
    client.post(reverse("accounts:mfa_setup"), {"code": _code(device)})
    user.refresh_from_db()
    assert user.two_factor_enabled
    assert client.get(reverse("accounts:settings")).status_code == 200
    assert elsewhere.get(reverse("accounts:settings")).status_code == 302

    # Next sign-in asks for a code before anything else.
    fresh = Client()
    _password_login(fresh, user)
    assert fresh.get(reverse("cases:home")).url.startswith(reverse("accounts:mfa_verify"))

    refused = client.post(reverse("accounts:mfa_off"), {"password": "wrong"}, follow=True)
    assert "two-step sign-in is on" in refused.content.decode()
    client.post(reverse("accounts:mfa_off"), {"password": DEFAULT_PASSWORD})
    user.refresh_from_db()
    assert not user.two_factor_enabled
    assert not TOTPDevice.objects.filter(user=user).exists()


def test_staff_cannot_turn_two_step_off(client):
    from tests.staff import staff_login

    staff = StaffUserFactory()
    staff_login(client, staff)
    client.post(reverse("accounts:mfa_off"), {"password": DEFAULT_PASSWORD})
    assert TOTPDevice.objects.filter(user=staff, confirmed=True).exists()


def test_an_administrator_deleting_a_lost_device_turns_the_flag_off():
    user = UserFactory()
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    assert User.objects.get(pk=user.pk).two_factor_enabled
    device.delete()
    assert not User.objects.get(pk=user.pk).two_factor_enabled
