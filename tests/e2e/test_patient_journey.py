"""A patient walks from sign-up through the demo questionnaire and pays with the sandbox card,
in a browser: the case is then sent to the (sandbox) clinician."""

import datetime
import io
import re

import pytest
from django.core import mail
from django.utils import timezone
from PIL import Image

from cases.models import Case
from intake.models import QuestionnaireResponse, ResponseStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(settings, live_server) -> None:
    settings.DEBUG = True  # seed_demo's own guard; the live server still serves as configured
    # The embedded default: the case goes to the sandbox MDI on this same live server.
    settings.MDI_API_BASE_URL = f"{live_server.url}/mdi-sandbox/api"
    settings.MDI_SANDBOX_WEBHOOK_URL = f"{live_server.url}/webhooks/mdi/"
    import sys

    from cases.demo import seed as seed_offering
    from intake.demo import seed

    seed(stdout=sys.stdout)
    seed_offering(stdout=sys.stdout)


@pytest.fixture
def photo(tmp_path) -> str:
    path = tmp_path / "photo.jpg"
    out = io.BytesIO()
    Image.new("RGB", (320, 200), (180, 170, 160)).save(out, format="JPEG")
    path.write_bytes(out.getvalue())
    return str(path)


def _choose(page, question: str, answer: str) -> None:
    page.get_by_role("group", name=question).get_by_label(answer, exact=True).check()


def test_sign_up_to_completed_intake(page, live_server, demo, photo, screenshot):
    from playwright.sync_api import expect

    email = f"walk-{page.device_name}@example.com"
    page.goto(live_server.url + "/")
    screenshot(page, "00-home")
    page.get_by_role("link", name="Get started").first.click()

    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill("a-long-unusual-pass")
    page.get_by_label("Confirm password").fill("a-long-unusual-pass")
    page.get_by_role("button", name="Create account").click()

    # The same "check your email" page whoever's address it is; the emailed link signs in
    # this browser once its button is pressed.
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    screenshot(page, "00-check-email")
    [message] = [m for m in mail.outbox if m.to == [email]]
    link = re.search(r"/accounts/verify/\S+/", message.body).group(0)
    page.goto(live_server.url + link)
    screenshot(page, "00-confirm-email")
    page.get_by_role("button", name="Confirm my email address").click()

    # Eligibility comes first: an unsupported state stops the patient kindly.
    expect(page.get_by_role("heading", name="Can we treat you?")).to_be_visible()
    screenshot(page, "01-eligibility")
    page.get_by_label("State of residence").select_option("AK")
    page.get_by_label("Date of birth").fill("1990-05-01")
    page.get_by_role("button", name="Check eligibility").click()
    expect(page.get_by_role("heading", name="We're not in Alaska yet")).to_be_visible()
    screenshot(page, "02-unsupported-state")
    page.get_by_role("link", name="change your state").click()

    # Under age: stopped on the same first screen, before anything else is asked.
    page.get_by_label("State of residence").select_option("CA")
    seventeen = timezone.localdate() - datetime.timedelta(days=17 * 365)
    page.get_by_label("Date of birth").fill(seventeen.isoformat())
    page.get_by_role("button", name="Check eligibility").click()
    expect(page.get_by_role("heading", name="You need to be 18 or older")).to_be_visible()
    screenshot(page, "02b-under-age")
    page.get_by_role("link", name="Go back and fix it").click()

    page.get_by_label("State of residence").select_option("CA")
    page.get_by_label("Date of birth").fill("1990-05-01")
    page.get_by_role("button", name="Check eligibility").click()

    # Identity: a mistake keeps the input and points at the field.
    expect(page.get_by_role("heading", name="Your legal name and address")).to_be_visible()
    page.get_by_label("Legal first name").fill("Dana")
    page.get_by_label("Legal last name").fill("Reyes")
    _choose(page, "Sex assigned at birth", "Female")
    page.get_by_label("Phone number").fill("555")
    page.get_by_label("Street address").fill("1 Main St")
    page.get_by_label("City").fill("Oakland")
    page.get_by_label("ZIP code").fill("94601")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.get_by_label("Legal first name")).to_have_value("Dana")
    screenshot(page, "03-identity-error")
    page.get_by_label("Phone number").fill("415 555 0123")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Upload a photo ID")).to_be_visible()
    page.get_by_label("Photo ID").set_input_files(photo)
    screenshot(page, "04-photo-id")
    page.get_by_role("button", name="Upload and continue").click()

    # Step 1, with a conditional follow-up shown and hidden by the page's own script.
    expect(page.get_by_text("Step 1 of 4")).to_be_visible()
    _choose(page, "How long have you noticed hair loss?", "1 to 5 years")
    _choose(page, "Which best describes where you are losing hair?", "Thinning at the crown")
    _choose(page, "Has a parent or sibling had similar hair loss?", "Yes")
    follow_up = page.get_by_label(re.compile("Please tell us what happened"))
    expect(follow_up).to_be_hidden()
    _choose(page, "Did your hair loss start suddenly, over weeks rather than years?", "Yes")
    expect(follow_up).to_be_visible()
    screenshot(page, "05-step-1-follow-up")
    _choose(page, "Did your hair loss start suddenly, over weeks rather than years?", "No")
    expect(follow_up).to_be_hidden()
    page.get_by_label("Minoxidil (Rogaine)").check()
    page.get_by_role("button", name="Continue").click()

    # Step 2: an error first, summarised and focused.
    expect(page.get_by_text("Step 2 of 4")).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#error-summary")).to_be_focused()
    screenshot(page, "06-step-2-errors")
    _choose(page, "Are you pregnant, trying to become pregnant, or breastfeeding?", "No")
    page.get_by_label("None of these").check()
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_text("Step 3 of 4")).to_be_visible()
    _choose(
        page, "Do you take any prescription or over-the-counter medicines or supplements?", "No"
    )
    _choose(page, "Do you have any allergies to medicines?", "No")
    screenshot(page, "07-step-3")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_text("Step 4 of 4")).to_be_visible()
    page.get_by_label("A photo of the top of your head, in good light").set_input_files(photo)
    _choose(page, "Do you have a treatment preference?", "I'd like the clinician to recommend")
    _choose(page, "Please confirm", "My answers are true and complete to the best of my knowledge")
    screenshot(page, "08-step-4")
    page.get_by_role("button", name="Review my answers").click()

    expect(page.get_by_role("heading", name="Check your answers")).to_be_visible()
    expect(page.get_by_text("Thinning at the crown")).to_be_visible()
    screenshot(page, "09-review")
    page.get_by_role("button", name="Finish my intake").click()

    expect(page.get_by_role("heading", name="Thank you, your answers are saved")).to_be_visible()
    screenshot(page, "10-complete")
    response = QuestionnaireResponse.objects.get(patient__user__email=email)
    assert response.status == ResponseStatus.COMPLETED
    assert "sudden-onset-details" not in response.answers

    # Checkout: a declined card first, then the sandbox card that authorizes.
    page.get_by_role("link", name="Continue to checkout").click()
    expect(page.get_by_role("heading", name="Your online visit")).to_be_visible()
    expect(page.get_by_text("authorized, not charged")).to_be_visible()
    screenshot(page, "11-checkout")
    page.get_by_role("button", name="Continue to secure payment").click()
    page.get_by_label("Card number").fill("4000 0000 0000 0002")
    screenshot(page, "12-sandbox-card")
    page.get_by_role("button", name="Authorize $49.00").click()
    expect(page.get_by_text("Your card was declined.").first).to_be_visible()
    screenshot(page, "13-card-declined")
    page.get_by_role("button", name="Continue to secure payment").click()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Authorize $49.00").click()
    expect(page.get_by_role("heading", name="Waiting for a clinician")).to_be_visible()
    expect(page.get_by_text("$49.00 is authorized on your card ending 4242")).to_be_visible()
    screenshot(page, "14-visit-paid")
    case = Case.objects.get(patient__user__email=email)
    assert (case.payment.status, case.submission_status) == ("authorized", "sent")
