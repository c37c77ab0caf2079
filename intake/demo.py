"""Demo data for `make run`: the hair-loss questionnaire, imported and published once."""

import json
from pathlib import Path
from typing import TextIO

from intake.fhir import questionnaire_import_fhir
from intake.models import Questionnaire, VersionStatus
from intake.services import questionnaire_version_publish

DEMO_FILE = Path(__file__).parent / "demo" / "hair_loss_questionnaire.json"


def seed(*, stdout: TextIO) -> None:
    data = json.loads(DEMO_FILE.read_text())
    existing = Questionnaire.objects.filter(url=data["url"]).first()
    if existing and existing.versions.filter(status=VersionStatus.PUBLISHED).exists():
        stdout.write(f"Demo questionnaire '{existing.slug}' is already published.")
        return
    report = questionnaire_import_fhir(data=data)
    version = questionnaire_version_publish(version=report.version)
    stdout.write(f"Published demo questionnaire {version}.")
