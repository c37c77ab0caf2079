"""Demo data for `make run`: the offering the sandbox clinician reviews for hair loss."""

from typing import TextIO

from cases.models import Offering


def seed(*, stdout: TextIO) -> None:
    _, created = Offering.objects.get_or_create(
        questionnaire_slug="hair-loss",
        mdi_offering_id="sandbox-offering-finasteride-1mg",
        defaults={"name": "Finasteride 1 mg tablets (sandbox)"},
    )
    if created:
        stdout.write("Created the sandbox offering for the hair-loss questionnaire.")
