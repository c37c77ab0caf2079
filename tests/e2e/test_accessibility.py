"""axe-core in a real browser, both viewports, on every page a patient meets.

axe-core comes from npm, pinned by package.json/package-lock.json and installed by `make test`
(`npm ci`); nothing is fetched at run time. Serious and critical violations fail the test.
Intake steps are checked as they first appear and with their error summary showing."""

import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image

from tests.accounts.factories import DEFAULT_PASSWORD
from tests.e2e.conftest import DESKTOP, IN_CI, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0-2.2 A and AA, target size included (wcag22aa); best practices only where serious.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        message = f"{AXE} missing: run `npm ci` (make test does) to install the pinned axe-core"
        if IN_CI:
            pytest.fail(message)  # CI installs it; its absence there is a failure, not a skip
        pytest.skip(message)
    return AXE.read_text()


@pytest.fixture(params=["desktop", "phone"])
def a11y_page(request, browser):
    # bypass_csp only so axe's injected <script> may run; the pages themselves are unchanged.
    options = DESKTOP if request.param == "desktop" else PHONE
    context = browser.new_context(**options, bypass_csp=True)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    tab.device_name = request.param
    yield tab
    context.close()


def _violations(page, axe_source: str) -> list[dict]:
    page.add_script_tag(content=axe_source)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [v for v in result["violations"] if v["impact"] in BLOCKING]


# Bytes of the same-origin stylesheets and scripts a page links (a patient on a slow phone
# downloads all of them); JS stays under the 30 KB budget.
WEIGHT = """async () => {
  const urls = kind => [...document.querySelectorAll(kind)].map(e => e.href || e.src)
    .filter(u => u.startsWith(location.origin));
  const size = async list => (await Promise.all(list.map(u => fetch(u).then(r => r.text()))))
    .reduce((n, t) => n + new TextEncoder().encode(t).length, 0);
  return {css: await size(urls('link[rel=stylesheet]')), js: await size(urls('script[src]'))};
}"""
JS_BUDGET = 30_000


def _describe(name: str, violations: list[dict]) -> str:
    lines = [f"{name}:"]
    for v in violations:
        targets = [" ".join(map(str, node["target"])) for node in v["nodes"]][:5]
        lines.append(f"  {v['id']} ({v['impact']}): {v['help']} -> {json.dumps(targets)}")
    return "\n".join(lines)


def _jpeg(name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (90, 80, 70)).save(out, format="JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label(re.compile("Email")).fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in")).click()
    page.wait_for_load_state()


@pytest.fixture
def patient_ready_to_pay(settings, live_server, demo_version, demo_structure):
    """A patient who finished the intake: every patient page up to checkout has data."""
    settings.MDI_API_BASE_URL = f"{live_server.url}/mdi-sandbox/api"
    settings.MDI_SANDBOX_WEBHOOK_URL = f"{live_server.url}/webhooks/mdi/"
    from cases.demo import seed as seed_offering
    from intake.services import questionnaire_response_complete
    from patients.services import identity_document_upload
    from tests.intake.test_validation import _answer_all
    from tests.patients.factories import PatientFactory

    seed_offering(stdout=io.StringIO())
    patient = PatientFactory(identified=True)
    identity_document_upload(patient=patient, uploaded=_jpeg("id.jpg"))
    response = _answer_all(patient, demo_version, demo_structure, lambda: _jpeg("scalp.jpg"))
    assert questionnaire_response_complete(response=response, structure=demo_structure).is_valid
    return patient, response


def test_patient_pages_have_no_serious_accessibility_violations(
    a11y_page, live_server, axe_source, patient_ready_to_pay, screenshot
):
    from playwright.sync_api import expect

    page, base = a11y_page, live_server.url
    patient, response = patient_ready_to_pay
    found: dict[str, list[dict]] = {}
    weights: dict[str, dict] = {}

    def check(name: str) -> None:
        page.wait_for_load_state()
        weights[name] = page.evaluate(WEIGHT)
        found[name] = _violations(page, axe_source)
        screenshot(page, f"a11y-{name}")

    for name, path in [
        ("home", "/"),
        ("sign-in", "/accounts/login/"),
        ("sign-up", "/accounts/signup/"),
        ("check-email", "/accounts/signup/check-email/"),
        ("password-reset", "/accounts/password-reset/"),
        ("not-found", "/no-such-page/"),
    ]:
        page.goto(base + path)
        check(name)

    _sign_in(page, base, patient.user.email)
    for name, path in [
        ("eligibility", "/patients/eligibility/"),
        ("identity", "/patients/identity/"),
        ("photo-id", "/patients/photo-id/"),
        ("account", "/accounts/"),
    ]:
        page.goto(base + path)
        check(name)

    page.goto(f"{base}/intake/{response.public_id}/complete/")
    page.get_by_role("link", name="Continue to checkout").click()
    check("checkout")
    page.get_by_role("button", name="Continue to secure payment").click()
    expect(page.get_by_label("Card number")).to_be_visible()
    check("sandbox-payment")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name=re.compile("^Authorize")).click()
    expect(page.get_by_role("heading", name="Waiting for a clinician")).to_be_visible()
    check("visit")
    page.goto(f"{base}/cases/")
    check("dashboard")

    print("\n".join(f"{name}: CSS {w['css']} B, JS {w['js']} B" for name, w in weights.items()))
    assert all(w["js"] < JS_BUDGET for w in weights.values()), weights
    failures = {name: v for name, v in found.items() if v}
    report = "\n".join(_describe(name, v) for name, v in failures.items())
    print(report or "axe: no serious or critical violations")
    assert not failures, (
        f"axe found serious or critical violations on {page.device_name}:\n{report}"
    )


def test_intake_steps_have_no_serious_violations_even_with_errors_showing(
    a11y_page, live_server, axe_source, demo_version, screenshot
):
    from intake.services import questionnaire_response_start
    from patients.services import identity_document_upload
    from tests.patients.factories import PatientFactory

    patient = PatientFactory(identified=True)
    identity_document_upload(patient=patient, uploaded=_jpeg("id.jpg"))
    response = questionnaire_response_start(patient=patient, version=demo_version)
    page = a11y_page
    _sign_in(page, live_server.url, patient.user.email)
    page.goto(f"{live_server.url}/intake/{response.public_id}/step/1/")
    page.wait_for_load_state()
    weight = page.evaluate(WEIGHT)
    print(f"intake step: CSS {weight['css']} B, JS {weight['js']} B")
    assert weight["js"] < JS_BUDGET
    found = {"intake step": _violations(page, axe_source)}
    screenshot(page, "a11y-intake-step")
    page.get_by_role("button", name="Continue").click()  # nothing answered: errors
    page.wait_for_load_state()
    found["intake step with errors"] = _violations(page, axe_source)
    screenshot(page, "a11y-intake-step-errors")
    report = "\n".join(_describe(name, v) for name, v in found.items() if v)
    print(report or "intake: no serious or critical violations")
    assert not report, report


def test_a_long_visit_history_reads_well_and_opens_whole(
    a11y_page, live_server, axe_source, screenshot
):
    """A visit with 60 status reports and 60 messages: the newest 20 of each, then the link to
    the rest; both pages free of serious violations (screenshots in artifacts/)."""
    from playwright.sync_api import expect

    from tests.cases.factories import CaseFactory
    from tests.cases.history import history_add
    from tests.patients.factories import PatientFactory

    patient = PatientFactory(identified=True)
    case = CaseFactory(patient=patient)
    history_add(case=case, count=60)
    page, base = a11y_page, live_server.url
    _sign_in(page, base, patient.user.email)
    page.goto(f"{base}/cases/{case.public_id}/")
    expect(page.get_by_text("Message 59:")).to_be_visible()
    expect(page.get_by_text("Message 39:")).to_have_count(0)
    screenshot(page, "visit-long-history")
    recent = _violations(page, axe_source)
    page.get_by_role("link", name="Show the whole history").click()
    page.wait_for_load_state()
    expect(page.get_by_text("Message 0:")).to_have_count(1)
    expect(page.get_by_role("link", name="Show earlier messages")).to_have_count(0)
    screenshot(page, "visit-whole-history")
    whole = _violations(page, axe_source)
    assert not recent and not whole, _describe("visit", recent + whole)
