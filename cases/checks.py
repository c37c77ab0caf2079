"""System checks for MDI submission that need the database.

Without the sandbox every published questionnaire must map to an MDI offering, and MDI only
knows offerings by UUID: a readable demo id would be refused at the first real submission.
Like Django's own database checks this runs only for the databases it is given (`migrate`,
`check --database default`), so a plain `check` never needs a reachable database.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.db import DatabaseError, connections


@register(Tags.database)
def check_offerings_for_published_questionnaires(
    app_configs: Sequence[Any] | None = None,
    databases: Iterable[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    if settings.MDI_SANDBOX_ENABLED:
        return []
    errors: list[CheckMessage] = []
    for alias in databases or ():
        try:
            errors += _missing_offerings(alias)
        except DatabaseError:
            # Unreachable, or not migrated yet (migrate runs its checks first): nothing to
            # check, and a check must never stand between a fresh database and its tables.
            continue
    return errors


def _missing_offerings(alias: str) -> list[CheckMessage]:
    from cases.models import Offering, is_mdi_offering_id
    from intake.models import Questionnaire, VersionStatus

    tables = set(connections[alias].introspection.table_names())
    if not {Offering._meta.db_table, Questionnaire._meta.db_table} <= tables:
        return []
    slugs = (
        Questionnaire.objects.using(alias)
        .filter(versions__status=VersionStatus.PUBLISHED)
        .values_list("slug", flat=True)
        .distinct()
    )
    errors = []
    for slug in sorted(slugs):
        offerings = (
            Offering.objects.using(alias)
            .filter(questionnaire_slug=slug, is_active=True)
            .values_list("mdi_offering_id", "price_minor")
        )
        if not any(is_mdi_offering_id(oid) and price > 0 for oid, price in offerings):
            errors.append(
                Error(
                    f"The published questionnaire {slug!r} has no active offering with a valid "
                    "MDI offering id and a price, so its visits cannot be paid for and sent "
                    "to MDI.",
                    hint=(
                        f"In the staff admin, add an active Offering with questionnaire slug "
                        f"{slug!r}, the offering's UUID from MDI and its price (or fix the "
                        "existing one)."
                    ),
                    id="cases.E001",
                )
            )
    return errors
