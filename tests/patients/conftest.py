import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.patients.factories import PatientFactory


@pytest.fixture
def jpeg_file():
    def make(name: str = "license.jpg") -> SimpleUploadedFile:
        out = io.BytesIO()
        Image.new("RGB", (64, 40), (120, 130, 140)).save(out, format="JPEG")
        return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")

    return make


@pytest.fixture
def identified_patient(db):
    return PatientFactory(identified=True)


@pytest.fixture
def identified_client(client, identified_patient):
    client.force_login(identified_patient.user)
    return client
