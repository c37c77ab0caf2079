"""In Chromium: the main patient pages and the staff admin load and work under the site's
Content-Security-Policy and Permissions-Policy, without a single violation reported."""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.accounts.factories import DEFAULT_PASSWORD, StaffUserFactory
from tests.cases.conftest import _jpeg, completed_unpaid  # noqa: F401 (a fixture)
from tests.e2e.conftest import DESKTOP
from tests.staff import staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs before any page script (and is not subject to the page's policy): records what the
# browser refused, alongside the console's "Refused to ..." lines.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""
POLICY_MESSAGE = re.compile("Content Security Policy|Permissions.Policy|Refused to", re.I)


class Tab:
    """A desktop tab that remembers every policy complaint since the last check."""

    def __init__(self, browser: object, live_server: object) -> None:
        self.context = browser.new_context(**DESKTOP)
        self.context.set_default_timeout(10_000)
        self.context.add_init_script(RECORD_VIOLATIONS)
        self.page = self.context.new_page()
        self.base = live_server.url
        self.complaints: list[str] = []
        self.page.on("console", self._console)

    def _console(self, message: object) -> None:
        if POLICY_MESSAGE.search(message.text):
            self.complaints.append(message.text)

    def sign_in_as(self, user: object) -> None:
        """Reuse a test client's session: the browser is then that user."""
        client = staff_login(Client(), user) if user.is_staff else Client()
        if not user.is_staff:
            client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        self.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": self.base}]
        )

    def visit(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("load")

    def problems(self) -> list[str]:
        found = self.page.evaluate("window.__violations || []") + self.complaints
        self.complaints = []
        return found


@pytest.fixture
def tab(browser, live_server):
    opened = Tab(browser, live_server)
    yield opened
    opened.context.close()


@pytest.fixture
def live_mdi(settings, live_server):
    """Checkout submits the case to the embedded sandbox MDI on this live server."""
    settings.MDI_API_BASE_URL = f"{live_server.url}/mdi-sandbox/api"
    settings.MDI_SANDBOX_WEBHOOK_URL = f"{live_server.url}/webhooks/mdi/"


def test_the_policy_is_enforced_and_a_violation_would_be_seen(tab):
    """The check below is not blind: an injected inline script is refused, and reported."""
    tab.visit("/")
    tab.page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.__ran = true"; document.body.append(s); }"""
    )
    assert tab.page.evaluate("window.__ran === undefined")
    problems = tab.problems()
    assert any("script-src" in problem for problem in problems), problems


def test_patient_pages_run_clean_under_the_policy(tab, completed_unpaid, live_mdi):  # noqa: F811
    from playwright.sync_api import expect

    patient, response = completed_unpaid
    for path in ["/", reverse("accounts:signup"), reverse("accounts:password_reset")]:
        tab.visit(path)
        assert tab.problems() == [], path

    # Signing in through the form: its POST and redirect are allowed by form-action.
    tab.visit(reverse("accounts:login"))
    tab.page.get_by_label("Email address").fill(patient.user.email)
    tab.page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    tab.page.get_by_role("button", name="Sign in").click()
    expect(tab.page.get_by_role("button", name="Sign out")).to_be_visible()
    assert tab.problems() == []

    for path in [
        reverse("patients:eligibility"),
        reverse("patients:identity"),
        reverse("patients:photo_id"),
        reverse("patients:notification_preferences"),
    ]:
        tab.visit(path)
        assert tab.problems() == [], path

    # The error summary is focused by static/js/forms.js, not by an inline script.
    tab.visit(reverse("accounts:password_change"))
    tab.page.get_by_label("Old password").fill("not-my-password")
    tab.page.get_by_label("New password", exact=True).fill("a-fresh-unusual-pass-7")
    tab.page.get_by_label("New password confirmation").fill("a-fresh-unusual-pass-7")
    tab.page.get_by_role("button", name="Change password").click()
    expect(tab.page.locator("#error-summary")).to_be_focused()
    assert tab.problems() == []

    # Checkout: our POST redirects to the sandbox processor, whose POST redirects back.
    tab.visit(reverse("cases:checkout", args=[response.public_id]))
    tab.page.get_by_role("button", name="Continue to secure payment").click()
    tab.page.get_by_label("Card number").fill("4242 4242 4242 4242")
    assert tab.problems() == []
    tab.page.get_by_role("button", name="Authorize $49.00").click()
    expect(tab.page.get_by_role("heading", name="Waiting for a clinician")).to_be_visible()
    assert tab.problems() == []  # the visit page, with visit.js polling its status


def test_an_intake_step_runs_its_script_under_the_policy(tab, demo_version):
    from playwright.sync_api import expect

    from tests.patients.factories import PatientFactory

    patient = PatientFactory(identified=True)
    from patients.services import identity_document_upload

    identity_document_upload(patient=patient, uploaded=_jpeg("id.jpg"))
    tab.sign_in_as(patient.user)
    tab.visit(reverse("intake:start"))
    expect(tab.page.get_by_text("Step 1 of 4")).to_be_visible()
    assert tab.page.locator("progress.progress-bar").evaluate("el => el.position") == 0.25
    # intake.js shows the conditional follow-up: scripts from our origin run.
    group = tab.page.get_by_role(
        "group", name="Did your hair loss start suddenly, over weeks rather than years?"
    )
    group.get_by_label("Yes", exact=True).check()
    expect(tab.page.get_by_label(re.compile("Please tell us what happened"))).to_be_visible()
    tab.page.get_by_role("button", name="Continue").click()
    expect(tab.page.locator("#error-summary")).to_be_focused()
    assert tab.problems() == []


def test_the_staff_admin_runs_clean_under_the_policy(tab, completed_unpaid, demo_version):  # noqa: F811
    from playwright.sync_api import expect

    from tests.cases.factories import CaseFactory

    patient, _ = completed_unpaid
    case = CaseFactory(patient=patient)
    tab.sign_in_as(StaffUserFactory(is_superuser=True))
    from django.contrib import admin

    # Every changelist: Django's own adds an inline <style> when a list has no actions.
    changelists = [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]
    for path in [
        reverse("admin:index"),
        *changelists,
        reverse("admin:cases_case_change", args=[case.pk]),
        reverse("admin:intake_questionnaireversion_change", args=[demo_version.pk]),
        reverse("admin:intake_questionnaireversion_preview", args=[demo_version.pk]),
        reverse("mdi_sandbox:console"),
    ]:
        tab.visit(path)
        assert tab.page.locator("#user-tools, .site-header").count() > 0, path
        assert tab.problems() == [], path

    # A stored webhook's payload: its wrapping comes from static/css/admin.css, not a style
    # attribute the policy would refuse.
    from tests.webhooks.helpers import post_mdi
    from webhooks.models import WebhookEvent

    assert post_mdi(Client(), b"not json at all").status_code == 200
    event = WebhookEvent.objects.get()
    tab.visit(reverse("admin:webhooks_webhookevent_change", args=[event.pk]))
    payload = tab.page.locator("pre.payload-text")
    assert payload.evaluate("el => getComputedStyle(el).whiteSpace") == "pre-wrap"
    assert tab.problems() == []

    # The admin's own scripts run: the changelist's "select all" box ticks every row.
    tab.visit(reverse("admin:cases_case_changelist"))
    tab.page.locator("#action-toggle").check()
    expect(tab.page.locator("input.action-select").first).to_be_checked()
    assert tab.problems() == []


@pytest.mark.parametrize("processor_allowed", [False, True])
def test_form_action_governs_the_redirect_to_a_hosted_checkout(
    tab,
    completed_unpaid,  # noqa: F811
    monkeypatch,
    settings,
    processor_allowed,
):
    """Chromium applies form-action to the redirect that follows a POST, so checkout's POST,
    redirected to Stripe's hosted page, needs Stripe's origin in form-action (the settings add
    it with the Stripe gateway). Here a second origin of the live server plays Stripe."""
    from urllib.parse import urlsplit

    from payments.gateways import CheckoutSession

    patient, response = completed_unpaid
    port = urlsplit(tab.base).port
    processor = (
        f"http://127.0.0.1:{port}" if "localhost" in tab.base else f"http://localhost:{port}"
    )
    monkeypatch.setattr(
        "cases.views.case_checkout_start",
        lambda **kwargs: CheckoutSession("cs_fake", f"{processor}/hosted-checkout/"),
    )
    if processor_allowed:
        directives = dict(settings.CONTENT_SECURITY_POLICY["DIRECTIVES"])
        directives["form-action"] = [*directives["form-action"], processor]
        settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": directives}
    tab.sign_in_as(patient.user)
    tab.visit(reverse("cases:checkout", args=[response.public_id]))
    tab.page.get_by_role("button", name="Continue to secure payment").click()
    if processor_allowed:
        tab.page.wait_for_url(f"{processor}/hosted-checkout/")
    else:
        tab.page.wait_for_function("window.__violations.some((v) => v.includes('form-action'))")
        assert not tab.page.url.startswith(processor)
