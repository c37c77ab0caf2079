import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from intake.fhir import questionnaire_version_to_fhir
from intake.models import QuestionnaireVersion, VersionStatus


class Command(BaseCommand):
    help = (
        "Print a questionnaire version as FHIR R4 Questionnaire JSON (default: the published one)."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: object) -> CommandParser:
        # --version N selects a questionnaire version, so Django's own --version flag steps aside.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--version", dest="number", type=int, default=None)

    def handle(self, *args: object, slug: str, number: int | None, **options: object) -> None:
        versions = QuestionnaireVersion.objects.select_related("questionnaire").filter(
            questionnaire__slug=slug
        )
        version = (
            versions.filter(version=number).first()
            if number
            else versions.filter(status=VersionStatus.PUBLISHED).first()
        )
        if version is None:
            raise CommandError(
                f"No {'version ' + str(number) if number else 'published version'} of '{slug}'"
            )
        self.stdout.write(json.dumps(questionnaire_version_to_fhir(version=version), indent=2))
