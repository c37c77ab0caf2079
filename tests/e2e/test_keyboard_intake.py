"""The whole demo intake with the keyboard alone: Tab to move, Space and the arrow keys to
choose, typing to fill, Enter to continue; the photo is picked from the chooser that Space
opens on the file input. No mouse, no click(), no check()."""

import io

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from PIL import Image

from intake.models import QuestionnaireResponse, ResponseStatus
from tests.cases.conftest import _jpeg
from tests.e2e.conftest import DESKTOP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAX_TABS = 120


def _focused(locator) -> bool:
    return locator.evaluate(
        "el => el === document.activeElement || el.contains(document.activeElement)"
    )


def _tab_to(page, locator) -> None:
    """Press Tab (from wherever focus is) until `locator` has focus, as a keyboard user would."""
    for _ in range(MAX_TABS):
        if _focused(locator):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {locator}")


def _radio(page, question: str, answer: str) -> None:
    group = page.get_by_role("group", name=question)
    target = group.get_by_label(answer, exact=True)
    _tab_to(page, group)
    page.keyboard.press("Space")  # the first radio of a fresh group
    for _ in range(group.get_by_role("radio").count()):
        if target.is_checked():
            return
        page.keyboard.press("ArrowDown")
    assert target.is_checked(), f"{answer!r} could not be chosen by keyboard"


def _checkbox(page, label: str) -> None:
    box = page.get_by_label(label, exact=True)
    _tab_to(page, box)
    page.keyboard.press("Space")
    assert box.is_checked()


def _press_button(page, name: str) -> None:
    button = page.get_by_role("button", name=name)
    _tab_to(page, button)
    page.keyboard.press("Enter")


@pytest.fixture
def keyboard_patient_page(browser, live_server, demo_version):
    from patients.services import identity_document_upload
    from tests.patients.factories import PatientFactory

    patient = PatientFactory(identified=True, sex_at_birth="female")
    identity_document_upload(patient=patient, uploaded=_jpeg("id.jpg"))
    client = Client()
    client.force_login(patient.user)
    context = browser.new_context(**DESKTOP)
    context.set_default_timeout(10_000)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )
    page = context.new_page()
    page.goto(live_server.url + reverse("intake:start"))
    yield page, patient
    context.close()


def test_the_demo_intake_can_be_completed_with_the_keyboard_alone(
    keyboard_patient_page, tmp_path, screenshot
):
    from playwright.sync_api import expect

    page, patient = keyboard_patient_page
    page.device_name = "desktop"
    photo = tmp_path / "crown.jpg"
    out = io.BytesIO()
    Image.new("RGB", (320, 200), (150, 120, 100)).save(out, format="JPEG")
    photo.write_bytes(out.getvalue())

    expect(page.get_by_text("Step 1 of 4")).to_be_visible()
    _radio(page, "How long have you noticed hair loss?", "1 to 5 years")
    _radio(page, "Which best describes where you are losing hair?", "Thinning at the crown")
    _radio(page, "Has a parent or sibling had similar hair loss?", "Yes")
    _radio(page, "Did your hair loss start suddenly, over weeks rather than years?", "No")
    _checkbox(page, "Minoxidil (Rogaine)")
    _press_button(page, "Continue")

    expect(page.get_by_text("Step 2 of 4")).to_be_visible()
    # Enter with nothing answered: the error summary takes focus and is read out.
    _press_button(page, "Continue")
    expect(page.locator("#error-summary")).to_be_focused()
    screenshot(page, "40-keyboard-errors")
    _radio(page, "Are you pregnant, trying to become pregnant, or breastfeeding?", "No")
    _checkbox(page, "None of these")
    _press_button(page, "Continue")

    expect(page.get_by_text("Step 3 of 4")).to_be_visible()
    _radio(page, "Do you take any prescription or over-the-counter medicines or supplements?", "No")
    _radio(page, "Do you have any allergies to medicines?", "No")
    _press_button(page, "Continue")

    expect(page.get_by_text("Step 4 of 4")).to_be_visible()
    upload = page.get_by_label("A photo of the top of your head, in good light")
    _tab_to(page, upload)
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(photo))
    _radio(page, "Do you have a treatment preference?", "I'd like the clinician to recommend")
    _radio(page, "Please confirm", "My answers are true and complete to the best of my knowledge")
    _press_button(page, "Review my answers")

    expect(page.get_by_role("heading", name="Check your answers")).to_be_visible()
    _press_button(page, "Finish my intake")
    expect(page.get_by_role("heading", name="Thank you, your answers are saved")).to_be_visible()
    screenshot(page, "41-keyboard-complete")
    response = QuestionnaireResponse.objects.get(patient=patient)
    assert response.status == ResponseStatus.COMPLETED
