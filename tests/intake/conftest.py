import pytest

from tests.cases.conftest import completed, completed_unpaid  # noqa: F401 - shared fixtures
from tests.intake.factories import PatientFactory


@pytest.fixture
def patient(db):
    return PatientFactory()


@pytest.fixture
def photo_upload():
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    def make():
        out = io.BytesIO()
        Image.new("RGB", (32, 32), (90, 60, 40)).save(out, format="JPEG")
        return SimpleUploadedFile("scalp.jpg", out.getvalue(), content_type="image/jpeg")

    return make
