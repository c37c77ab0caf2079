"""A visit with a long history, built in a few bulk INSERTs: `count` timeline events (MDI's
status reports, alternating so none collapses into the step before it) and `count` messages
(alternating the clinician's and the patient's). Shared by the query-count tests and the page
benchmark (benchmarks/pages.py)."""

import datetime
import uuid

from django.utils import timezone

from cases.models import (
    Case,
    CaseMessage,
    CaseStatus,
    CaseTimelineEntry,
    MessageDirection,
    MessageSender,
    MessageStatus,
    TimelineOutcome,
)
from webhooks.models import EventStatus, Provider, WebhookEvent

_ALTERNATING = [CaseStatus.UNDER_REVIEW, CaseStatus.MORE_INFO_REQUESTED]


def history_add(*, case: Case, count: int) -> None:
    start = timezone.now() - datetime.timedelta(minutes=2 * count + 10)
    tag = uuid.uuid4().hex[:12]
    events = WebhookEvent.objects.bulk_create(
        WebhookEvent(
            provider=Provider.MDI,
            event_key=f"history-{tag}-{i}",
            event_type="case_waiting",
            raw_body=b"{}",
            occurred_at=start + datetime.timedelta(minutes=2 * i),
            provider_timestamp=int((start + datetime.timedelta(minutes=2 * i)).timestamp()),
            external_id=case.mdi_case_id or "",
            reference=str(case.public_id),
            status=EventStatus.PROCESSED,
        )
        for i in range(count)
    )
    CaseTimelineEntry.objects.bulk_create(
        CaseTimelineEntry(
            case=case,
            event=event,
            event_type="case_waiting" if i % 2 else "case_assigned_to_clinician",
            outcome=TimelineOutcome.APPLIED,
            reported_status=_ALTERNATING[i % 2],
            to_status=_ALTERNATING[i % 2],
            occurred_at=event.occurred_at,
            received_at=event.occurred_at,
        )
        for i, event in enumerate(events)
    )
    CaseMessage.objects.bulk_create(
        CaseMessage(
            case=case,
            mdi_message_id=f"history-{tag}-{i}",
            direction=MessageDirection.IN if i % 2 == 0 else MessageDirection.OUT,
            sender=MessageSender.CLINICIAN if i % 2 == 0 else MessageSender.PATIENT,
            text=f"Message {i}: how is the treatment going?",
            sent_at=start + datetime.timedelta(minutes=2 * i + 1),
            status=MessageStatus.RECEIVED if i % 2 == 0 else MessageStatus.SENT,
        )
        for i in range(count)
    )
