"""Retention of a closed visit's local answers and photos
(settings.CLOSED_VISIT_ANSWER_RETENTION_DAYS).

The clinical record lives at our clinical partner (MDI); our copy of the intake answers and
their attachments exists to run the visit. Once a visit has been closed longer than the
retention period they are removed here, the response keeps a digest and the date, and the
visit page says so instead of showing them.
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from cases.models import CASE_TERMINAL, ActionRequest, Case, CaseMessage, PrescriptionStatus
from core.models import PurgeKind, PurgeLog
from core.uploads import upload_delete
from intake.services import questionnaire_response_purge

logger = logging.getLogger(__name__)

# A visit is closed when MDI ended it (declined or cancelled) or its prescription reached an
# end: delivered (no move leaves it), or failed or cancelled at the pharmacy.
PRESCRIPTION_CLOSED = [
    PrescriptionStatus.DELIVERED,
    PrescriptionStatus.FAILED,
    PrescriptionStatus.CANCELLED,
]


def closed_visits_with_answers(*, now: datetime.datetime | None = None) -> QuerySet[Case]:
    """Visits closed before the retention cutoff whose answers are still stored; none when
    the retention is 0 (keep forever). "Closed since" is the visit's and its prescription's
    last change, so a late event only ever postpones a purge."""
    days = settings.CLOSED_VISIT_ANSWER_RETENTION_DAYS
    if days <= 0:
        return Case.objects.none()
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    return (
        Case.objects.filter(
            Q(status__in=CASE_TERMINAL) | Q(prescription__status__in=PRESCRIPTION_CLOSED),
            Q(prescription__isnull=True) | Q(prescription__updated_at__lt=cutoff),
            updated_at__lt=cutoff,
            intake_response__isnull=False,
            intake_response__answers_purged_at__isnull=True,
        )
        .select_related("intake_response")
        .order_by("pk")
    )


def _case_photos_purge(*, case: Case) -> int:
    """The photos the patient sent in messages and for requests of a visit: clinical pictures
    like the intake's, removed with its answers (the conversation's text stays, so the visit
    still reads). The files go after commit; the rows only lose their file names."""
    messages = (
        CaseMessage.objects.select_for_update().filter(case=case).exclude(photo_stored_name="")
    )
    requests = ActionRequest.objects.select_for_update().filter(case=case).exclude(stored_name="")
    names = [*messages.values_list("photo_stored_name", flat=True)]
    names += requests.values_list("stored_name", flat=True)
    messages.update(photo_stored_name="")
    requests.update(stored_name="")
    transaction.on_commit(lambda: upload_delete(names=names))
    return len(names)


def closed_visit_answers_purge(*, now: datetime.datetime | None = None) -> int:
    """Purge the answers and attachment files of every visit closed longer than the retention
    period. Each response is purged under its own lock; a second run finds nothing to do.
    Writes one PurgeLog row (counts only) when anything was purged. Returns how many."""
    now = now or timezone.now()
    purged = files = 0
    for case in closed_visits_with_answers(now=now).iterator(chunk_size=200):
        with transaction.atomic():
            done, removed = questionnaire_response_purge(response=case.intake_response, now=now)
            if done:
                removed += _case_photos_purge(case=case)
        purged += done
        files += removed
    if purged:
        cutoff = now - datetime.timedelta(days=settings.CLOSED_VISIT_ANSWER_RETENTION_DAYS)
        PurgeLog.objects.create(
            kind=PurgeKind.CLOSED_VISIT_ANSWERS, cutoff=cutoff, rows=purged, files=files
        )
        logger.info("purged the answers of %s closed visits (%s files)", purged, files)
    return purged
