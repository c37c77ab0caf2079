"""In a browser: a new staff member must add an authenticator before admin opens, and a
patient's account page offers email change, password change and two-step sign-in."""

import time
from base64 import b32decode

import pytest
from django_otp.oath import totp

from tests.accounts.factories import DEFAULT_PASSWORD, StaffUserFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, base: str, email: str, next_path: str = "") -> None:
    page.goto(base + next_path)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_staff_set_up_two_step_sign_in_before_admin_opens(page, live_server, screenshot):
    from playwright.sync_api import expect

    staff = StaffUserFactory(is_superuser=True, email=f"staff-{page.device_name}@example.com")
    _sign_in(page, live_server.url, staff.email, "/staff/")

    expect(page.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
    expect(page.locator(".qr svg")).to_be_visible()
    screenshot(page, "30-staff-two-step-setup")

    page.get_by_label("6-digit code").fill("000000")
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("#error-summary")).to_be_focused()
    screenshot(page, "31-staff-two-step-wrong-code")

    # What the staff member's phone would show, from the key printed under the QR code.
    secret = b32decode(page.locator(".secret").inner_text().strip())
    page.get_by_label("6-digit code").fill(f"{totp(secret, 30, 0, 6, 0):06d}")
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    screenshot(page, "32-staff-admin-after-two-step")


def test_a_patient_manages_their_account(page, live_server, screenshot):
    from playwright.sync_api import expect

    patient = UserFactory(email=f"account-{page.device_name}@example.com")
    _sign_in(page, live_server.url, patient.email, "/accounts/login/")
    page.goto(live_server.url + "/accounts/")
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.get_by_role("link", name="Change email address")).to_be_visible()
    expect(page.get_by_role("link", name="Change password")).to_be_visible()
    screenshot(page, "33-patient-account")
    page.get_by_role("link", name="Turn on two-step sign-in").click()
    expect(page.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
    time.sleep(0.1)
    screenshot(page, "34-patient-two-step-setup")
