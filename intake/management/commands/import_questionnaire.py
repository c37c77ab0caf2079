import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from intake.fhir import FhirImportError, questionnaire_import_fhir


class Command(BaseCommand):
    help = "Import a FHIR R4 Questionnaire (JSON) as a new draft version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: object, file: Path, **options: object) -> None:
        try:
            data = json.loads(file.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        try:
            report = questionnaire_import_fhir(data=data)
        except FhirImportError as exc:
            raise CommandError(str(exc)) from exc
        for note in report.skipped:
            self.stderr.write(f"note: {note}")
        version = report.version
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {version.questionnaire.slug} as draft version {version.version}"
            )
        )
