"""A brand with several offerings: the one a patient starts from decides their intake (and so
its price), through sign-up, eligibility and identity."""

import json
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from cases.models import Offering
from intake.fhir import questionnaire_import_fhir
from intake.models import QuestionnaireResponse
from intake.services import questionnaire_version_publish
from patients.services import identity_document_upload
from tests.cases.conftest import DEMO_OFFERING_ID, _jpeg
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db

PHQ9 = Path(__file__).resolve().parents[2] / "intake" / "demo" / "phq9_questionnaire.json"


@pytest.fixture
def two_offerings(demo_version):
    phq9 = questionnaire_version_publish(
        version=questionnaire_import_fhir(data=json.loads(PHQ9.read_text())).version
    )
    Offering.objects.create(
        name="Finasteride 1 mg",
        mdi_offering_id=DEMO_OFFERING_ID,
        questionnaire_slug=demo_version.questionnaire.slug,
        price_minor=4900,
    )
    Offering.objects.create(
        name="Mood check-in",
        mdi_offering_id="0f7c1c2e-8b7a-4a53-9d2e-6a4f0c1d2e40",
        questionnaire_slug=phq9.questionnaire.slug,
        price_minor=2900,
    )
    return demo_version.questionnaire.slug, phq9.questionnaire.slug


def _identified_client(client: Client) -> tuple[Client, object]:
    patient = PatientFactory(identified=True)
    identity_document_upload(patient=patient, uploaded=_jpeg("id.jpg"))
    client.force_login(patient.user)  # keeps the session, and the choice in it
    return client, patient


def test_the_home_page_offers_each_treatment_with_its_own_start_link(client, two_offerings):
    hair, mood = two_offerings
    page = client.get(reverse("home")).content.decode()
    assert reverse("intake:choose", args=[hair]) in page
    assert reverse("intake:choose", args=[mood]) in page
    assert "$29.00" in page and "$49.00" in page


def test_a_visitor_who_starts_from_an_offering_gets_its_intake_after_signing_up(
    client, two_offerings
):
    _, mood = two_offerings
    assert client.get(reverse("intake:choose", args=[mood])).url == reverse("accounts:signup")
    client, patient = _identified_client(client)
    client.get(reverse("intake:start"))
    response = QuestionnaireResponse.objects.get(patient=patient)
    assert response.version.questionnaire.slug == mood


def test_without_a_choice_or_with_an_unknown_one_the_default_intake_starts(client, two_offerings):
    hair, _ = two_offerings
    client.get(reverse("intake:choose", args=["no-such-thing"]))
    client, patient = _identified_client(client)
    client.get(reverse("intake:start"))
    assert QuestionnaireResponse.objects.get(patient=patient).version.questionnaire.slug == hair


def test_a_patient_can_start_a_visit_for_another_offering(client, two_offerings):
    hair, mood = two_offerings
    client, patient = _identified_client(client)
    client.get(reverse("intake:start"))  # a first visit, for the default
    QuestionnaireResponse.objects.filter(patient=patient).update(status="completed")
    assert client.get(reverse("intake:choose", args=[mood])).url == reverse("cases:new_visit")
    client.get(reverse("cases:new_visit"), follow=True)
    slugs = set(
        QuestionnaireResponse.objects.filter(patient=patient).values_list(
            "version__questionnaire__slug", flat=True
        )
    )
    assert slugs == {hair, mood}
