import json

import pytest

from intake.demo import DEMO_FILE
from intake.fhir import questionnaire_import_fhir
from intake.services import questionnaire_version_publish
from intake.structure import version_structure_load


@pytest.fixture
def demo_data() -> dict:
    return json.loads(DEMO_FILE.read_text())


@pytest.fixture
def demo_version(db, demo_data):
    """The shipped demo questionnaire, imported and published."""
    return questionnaire_version_publish(version=questionnaire_import_fhir(data=demo_data).version)


@pytest.fixture
def demo_structure(demo_version):
    return version_structure_load(version=demo_version)
