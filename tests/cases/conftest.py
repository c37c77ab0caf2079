import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from cases.models import Offering
from intake.models import QuestionnaireResponse
from intake.services import questionnaire_response_complete
from patients.services import identity_document_upload
from tests.intake.test_validation import _answer_all
from tests.patients.factories import PatientFactory
from tests.payments.factories import sandbox_paid


def _jpeg(name: str) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (10, 20, 30)).save(out, format="JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


DEMO_OFFERING_ID = "7b0b1f9e-3c55-4a53-9d2e-6a4f0c1d2e3f"


@pytest.fixture
def completed_unpaid(demo_version, demo_structure):
    """A patient with identity, photo ID and a completed intake, at checkout."""
    Offering.objects.get_or_create(
        questionnaire_slug="hair-loss",
        mdi_offering_id=DEMO_OFFERING_ID,
        defaults={"name": "Finasteride 1 mg", "price_minor": 4900},
    )
    patient = PatientFactory(identified=True)
    identity_document_upload(patient=patient, uploaded=_jpeg("license.jpg"))
    response = _answer_all(patient, demo_version, demo_structure, lambda: _jpeg("scalp.jpg"))
    assert questionnaire_response_complete(response=response, structure=demo_structure).is_valid
    return patient, QuestionnaireResponse.objects.get(pk=response.pk)


@pytest.fixture
def completed(completed_unpaid):
    """The same, paid: the card authorized through the sandbox processor."""
    patient, response = completed_unpaid
    sandbox_paid(patient=patient, response=response)
    return patient, response
