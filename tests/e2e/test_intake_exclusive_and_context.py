"""In Chromium: "None of these" clears and disables the other options, and the pregnancy
question is shown or hidden from the patient's sex at birth (issue 13)."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.cases.conftest import _jpeg
from tests.e2e.conftest import DESKTOP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PREGNANCY = "Are you pregnant, trying to become pregnant, or breastfeeding?"
CONDITIONS = "Have you ever been diagnosed with any of these?"


@pytest.fixture
def tab(browser, live_server):
    context = browser.new_context(**DESKTOP)
    context.set_default_timeout(10_000)
    yield context, live_server.url
    context.close()


def _open_step_two(tab, *, sex: str):
    """A patient with this sex at birth, signed in, past step 1, on step 2."""
    from patients.services import identity_document_upload
    from tests.patients.factories import PatientFactory

    context, base = tab
    patient = PatientFactory(identified=True, sex_at_birth=sex)
    identity_document_upload(patient=patient, uploaded=_jpeg("id.jpg"))
    client = Client()
    client.force_login(patient.user)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": base,
            }
        ]
    )
    page = context.new_page()
    page.goto(base + reverse("intake:start"))
    for question, answer in [
        ("How long have you noticed hair loss?", "1 to 5 years"),
        ("Which best describes where you are losing hair?", "Thinning at the crown"),
        ("Has a parent or sibling had similar hair loss?", "No"),
        ("Did your hair loss start suddenly, over weeks rather than years?", "No"),
    ]:
        group = page.get_by_role("group", name=question)
        group.get_by_label(answer, exact=True).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("Step 2 of 4").wait_for()
    return page


def test_none_of_these_clears_and_disables_the_other_conditions(tab, demo_version):
    from playwright.sync_api import expect

    page = _open_step_two(tab, sex="female")
    conditions = page.get_by_role("group", name=CONDITIONS)
    heart = conditions.get_by_label("Heart disease", exact=True)
    liver = conditions.get_by_label("Liver disease", exact=True)
    none = conditions.get_by_label("None of these", exact=True)
    heart.check()
    liver.check()
    expect(
        page.get_by_label("Tell us about your liver condition and who treats it.")
    ).to_be_visible()
    none.check()
    expect(heart).not_to_be_checked()
    expect(heart).to_be_disabled()
    expect(liver).to_be_disabled()
    # the follow-up of the option just cleared hides again
    expect(
        page.get_by_label("Tell us about your liver condition and who treats it.")
    ).to_be_hidden()
    none.uncheck()
    expect(heart).to_be_enabled()


def test_the_pregnancy_question_shows_for_a_female_patient(tab, demo_version):
    from playwright.sync_api import expect

    page = _open_step_two(tab, sex="female")
    expect(page.get_by_role("group", name=PREGNANCY)).to_be_visible()


def test_the_pregnancy_question_is_hidden_and_not_required_for_a_male_patient(tab, demo_version):
    from playwright.sync_api import expect

    page = _open_step_two(tab, sex="male")
    expect(page.get_by_text(PREGNANCY)).to_be_hidden()
    page.get_by_role("group", name=CONDITIONS).get_by_label("None of these", exact=True).check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Step 3 of 4")).to_be_visible()
