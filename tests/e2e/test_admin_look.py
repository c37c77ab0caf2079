"""Staff admin at 1280 px: the changelists support uses most fit without sideways scrolling,
and a patient's address reads as an address. Staff sign in through the real two-step pages."""

import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.factories import DEFAULT_PASSWORD, StaffUserFactory
from tests.cases.factories import CaseFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHANGELISTS = {
    "patients": "/staff/patients/patient/",
    "cases": "/staff/cases/case/",
    "payments": "/staff/payments/payment/",
    "webhook-events": "/staff/webhooks/webhookevent/",
    "access-log": "/staff/core/accesslog/",
}


def _staff_sign_in(page, base: str, user) -> None:
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    page.goto(f"{base}/staff/login/")
    page.get_by_label(re.compile("Email|Username")).fill(user.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in|Log in")).click()
    code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    page.get_by_label(re.compile("6-digit code")).fill(f"{code:06d}")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()


def test_admin_changelists_fit_1280_and_the_address_reads_as_lines(
    browser, live_server, screenshot
):
    from webhooks.models import WebhookEvent

    case = CaseFactory(patient__identified=True)
    WebhookEvent.objects.create(
        provider="mdi",
        event_key="evt-look-1",
        event_type="case_processing",
        raw_body=b"{}",
        external_id=case.mdi_case_id,
    )
    staff = StaffUserFactory(email="look-admin@example.com", is_superuser=True)
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.device_name = "desktop"
    _staff_sign_in(page, live_server.url, staff)

    # The patient's page first, so the access log has a row to list.
    page.goto(f"{live_server.url}/staff/patients/patient/{case.patient.pk}/change/")
    address = page.locator(".field-shipping_address_display .readonly")
    text = address.inner_text()
    assert "{" not in text and "line1" not in text
    assert len([line for line in text.splitlines() if line.strip()]) >= 2
    screenshot(page, "admin-patient")

    too_wide = {}
    for name, path in CHANGELISTS.items():
        page.goto(live_server.url + path)
        assert page.locator("#result_list, .paginator").first.is_visible(), name
        screenshot(page, f"admin-{name}")
        width = page.evaluate("document.documentElement.scrollWidth")
        # Django wraps the table in a scrolling box: the page may fit while columns hide.
        table = page.evaluate(
            "(() => { const box = document.querySelector('.results');"
            " return box ? box.scrollWidth - box.clientWidth : 0; })()"
        )
        if width > 1280 or table > 0:
            too_wide[name] = (width, table)
    assert not too_wide, f"changelists wider than 1280px: {too_wide}"
