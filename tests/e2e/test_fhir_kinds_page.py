"""In a browser: the FHIR kinds' inputs work as a patient uses them (autocomplete reveals its
follow-up, a drop-down drives a rule, a quantity sends its unit, read-only stays read-only)."""

import json
import re
from pathlib import Path

import pytest

from intake.fhir import questionnaire_import_fhir
from intake.models import QuestionnaireResponse
from intake.services import questionnaire_version_publish
from patients.models import IdentityDocument
from tests.accounts.factories import DEFAULT_PASSWORD
from tests.patients.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KINDS = Path(__file__).parents[1] / "intake" / "fhir" / "engine_kinds.json"


@pytest.fixture
def kinds_patient():
    data = json.loads(KINDS.read_text())
    questionnaire_version_publish(version=questionnaire_import_fhir(data=data).version)
    patient = PatientFactory(identified=True)
    IdentityDocument.objects.create(
        patient=patient, kind="photo_id", stored_name="x.jpg", mime_type="image/jpeg", size=1
    )
    return patient


def test_the_kinds_inputs_in_a_browser(page, live_server, kinds_patient):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label(re.compile("Email|Username")).fill(kinds_patient.user.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in|Log in")).click()
    page.goto(f"{live_server.url}/intake/start/")

    expect(page.get_by_label("Usual time you take medicines?")).to_have_value("09:00:00")
    expect(page.get_by_label("Imported from")).to_be_disabled()
    follow_up = page.get_by_label("Why France?")
    expect(follow_up).to_be_hidden()
    page.get_by_label("Country of residence").fill("France")
    expect(follow_up).to_be_visible()  # the typed label is matched to its code, FR
    note = page.get_by_text("Two or more: thank you.")
    expect(note).to_be_hidden()
    page.get_by_label("How many tests in the last 10 years?").select_option("2")
    expect(note).to_be_visible()

    follow_up.fill("Family")
    page.get_by_label("Your height").fill("70")
    page.get_by_label("Unit").select_option("[in_i]")
    page.get_by_role("button", name=re.compile("Continue|Review")).click()
    expect(page).to_have_url(re.compile("/review/"))
    answers = QuestionnaireResponse.objects.get().answers
    assert answers["height"]["value"] == ["70 [in_i]"]
    assert answers["country"]["value"] == ["FR"]
    assert answers["source-system"]["value"] == ["Partner EHR"]
    assert answers["form-revision"]["value"] == ["2.1"]
