"""Demo data for `make run`: the offering the sandbox clinician reviews for hair loss."""

from typing import TextIO

from cases.models import Offering, is_mdi_offering_id

# MDI offering ids are UUIDs (cases.checks refuses anything else once the sandbox is off), so
# the demo uses one too: fixed, so every laptop's demo data matches.
DEMO_OFFERING_ID = "5f0c9a8e-6b1d-4c3a-9e2f-7d4b8a1c2e60"
DEMO_PRICE_MINOR = 4900  # $49.00


def seed(*, stdout: TextIO) -> None:
    offering, created = Offering.objects.get_or_create(
        questionnaire_slug="hair-loss",
        defaults={
            "name": "Finasteride 1 mg tablets (sandbox)",
            "mdi_offering_id": DEMO_OFFERING_ID,
            "price_minor": DEMO_PRICE_MINOR,
            "currency": "usd",
            "description": "For thinning hair at the crown in adult men, if a clinician agrees.",
        },
    )
    if created:
        stdout.write("Created the sandbox offering for the hair-loss questionnaire.")
    elif not is_mdi_offering_id(offering.mdi_offering_id):
        # Older demo data used a readable id that no real MDI would accept.
        offering.mdi_offering_id = DEMO_OFFERING_ID
        offering.save(update_fields=["mdi_offering_id"])
        stdout.write("Gave the hair-loss sandbox offering a UUID offering id.")
    if not offering.price_minor:
        offering.price_minor, offering.currency = DEMO_PRICE_MINOR, "usd"
        offering.save(update_fields=["price_minor", "currency"])
