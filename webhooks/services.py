"""Receiving, storing and processing webhooks, exactly once per distinct event."""

import datetime
import logging
import random
import traceback
from dataclasses import dataclass
from typing import Any

import psycopg
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.models import PurgeKind, PurgeLog, SecurityEventKind
from core.security import security_event_record
from webhooks.models import DeliveryOutcome, EventStatus, Provider, WebhookDelivery, WebhookEvent
from webhooks.providers import (
    ParsedEvent,
    headers_to_store,
    mdi_parse,
    mdi_verify,
    stripe_parse,
    stripe_verify,
)
from webhooks.registry import EventNotReady, handlers_for, preparers_for

logger = logging.getLogger(__name__)
# Refusals go to the security log, which operations alert on: ids and reasons, never a body.
security_logger = logging.getLogger("security")

# An event whose subject is not stored yet is retried this many times (with backoff) before it
# is marked failed for support.
NOT_READY_MAX_ATTEMPTS = 8
NOT_READY_BASE_DELAY = datetime.timedelta(seconds=30)
# A handler that raises (a bug, a lost connection) is retried with backoff this many times in
# all, then the event is failed with its traceback for support.
ERROR_MAX_ATTEMPTS = 6
# A worker's claim on an event lasts this long. A worker killed mid-event leaves its claims to
# expire, and another worker takes them: well inside the 30 s a stranded event may wait.
CLAIM_LEASE = datetime.timedelta(seconds=15)
# body_size is a PositiveIntegerField; a claimed Content-Length beyond it is recorded as this.
MAX_RECORDED_BODY_SIZE = 2**31 - 1


@dataclass(frozen=True)
class ReceiveResult:
    status_code: int
    delivery: WebhookDelivery


def _dispatch(event_id: int) -> None:
    """After commit: in the embedded default (settings.WEBHOOK_PROCESSING == "inline") the
    event is processed here and now; otherwise the stored row is the queue and a
    `process_webhooks` worker claims it, so acknowledging needs nothing but the database."""
    if settings.WEBHOOK_PROCESSING == "inline":
        webhook_event_run(event_id=event_id)


def webhook_receive_mdi(
    *, body: bytes, headers: dict[str, str], client_ip: str | None
) -> ReceiveResult:
    """Authenticate, store and acknowledge one MDI delivery. One short transaction.

    Unauthenticated: a delivery row (no body) and 401, nothing applied. Authenticated: the
    event is inserted unless its key exists (then this is a recorded duplicate); processing is
    enqueued after commit. Malformed JSON and unknown types are stored and answered 200 so MDI
    stops retrying; support sees them in admin.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    failure = mdi_verify(
        body=body,
        authorization=lowered.get("authorization", ""),
        signature=lowered.get("signature", ""),
        secrets=settings.MDI_WEBHOOK_SECRET,
        authorizations=settings.MDI_WEBHOOK_AUTHORIZATION,
    )
    delivery = WebhookDelivery(
        provider=Provider.MDI,
        client_ip=client_ip,
        headers=headers_to_store(headers),
        body_size=len(body),
    )
    if failure:
        return _refuse(delivery=delivery, failure=failure)
    return _store(delivery=delivery, parsed=mdi_parse(body=body), body=body)


def webhook_receive_stripe(
    *, body: bytes, headers: dict[str, str], client_ip: str | None
) -> ReceiveResult:
    """Authenticate, store and acknowledge one Stripe delivery, exactly as for MDI.

    Anything not signed by Stripe within the last five minutes (missing header, wrong secret,
    stale timestamp, altered body) and any signed body that is not an event object is refused
    with 401 and a delivery row without the body. Stripe retries non-2xx deliveries for days,
    so a refusal caused by our own misconfiguration is recovered once it is fixed.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    failure = stripe_verify(
        body=body,
        signature=lowered.get("stripe-signature", ""),
        secrets=settings.STRIPE_WEBHOOK_SECRET,
    )
    delivery = WebhookDelivery(
        provider=Provider.STRIPE,
        client_ip=client_ip,
        headers=headers_to_store(headers),
        body_size=len(body),
    )
    if failure:
        return _refuse(delivery=delivery, failure=failure)
    return _store(delivery=delivery, parsed=stripe_parse(body=body), body=body)


def webhook_refuse_too_large(
    *, provider: str, headers: dict[str, str], client_ip: str | None, body_size: int
) -> ReceiveResult:
    """Record a delivery refused before its body was read: who sent how much, never the body."""
    delivery = WebhookDelivery(
        provider=provider,
        client_ip=client_ip,
        headers=headers_to_store(headers),
        body_size=min(body_size, MAX_RECORDED_BODY_SIZE),
    )
    return _refuse(delivery=delivery, failure="too-large", outcome=DeliveryOutcome.TOO_LARGE)


def _refuse(
    *,
    delivery: WebhookDelivery,
    failure: str,
    outcome: str = DeliveryOutcome.UNAUTHENTICATED,
) -> ReceiveResult:
    delivery.outcome = outcome
    delivery.failure_reason = failure
    delivery.save()
    security_event_record(
        kind=SecurityEventKind.WEBHOOK_REFUSED,
        ip_address=delivery.client_ip,
        detail=f"{delivery.provider}:{failure}",
    )
    security_logger.warning(
        "refused %s webhook delivery %s from %s: %s",
        delivery.provider,
        delivery.pk,
        delivery.client_ip,
        failure,
    )
    return ReceiveResult(413 if outcome == DeliveryOutcome.TOO_LARGE else 401, delivery)


def _store(*, delivery: WebhookDelivery, parsed: ParsedEvent, body: bytes) -> ReceiveResult:
    """The authenticated half every provider shares: insert the event unless its key exists
    (then the delivery is a recorded duplicate). Durable before the caller answers 200."""
    event = WebhookEvent(
        provider=delivery.provider,
        event_key=parsed.event_key,
        event_type=parsed.event_type,
        raw_body=body,
        provider_timestamp=parsed.provider_timestamp,
        occurred_at=(
            datetime.datetime.fromtimestamp(parsed.provider_timestamp, tz=datetime.UTC)
            if parsed.provider_timestamp is not None
            else None
        ),
        external_id=parsed.external_id,
        reference=parsed.reference,
        status=EventStatus.RECEIVED if parsed.payload else EventStatus.MALFORMED,
    )
    if connection.vendor == "postgresql":
        created = _insert_in_one_statement(event=event, delivery=delivery)
    else:
        created = _insert_with_savepoint(event=event, delivery=delivery)
    if created and event.status == EventStatus.RECEIVED:
        # A lambda, not functools.partial: Django logs failing robust callbacks by __qualname__.
        transaction.on_commit(lambda event_id=event.pk: _dispatch(event_id), robust=True)
    return ReceiveResult(200, delivery)


# One round trip: insert the event unless its key exists, then the delivery pointing at
# whichever event row holds the key. A single statement commits on its own in autocommit, so
# there is no BEGIN, savepoint or COMMIT to wait for; the unique key still decides duplicates.
_INSERT_EVENT_AND_DELIVERY = """
WITH new_event AS (
    INSERT INTO {event_table} ({event_columns}) VALUES ({event_values})
    ON CONFLICT ON CONSTRAINT webhooks_event_unique_key DO NOTHING
    RETURNING id
), the_event AS (
    SELECT id, TRUE AS created FROM new_event
    UNION ALL
    SELECT id, FALSE FROM {event_table}
    WHERE provider = %s AND event_key = %s AND NOT EXISTS (SELECT 1 FROM new_event)
)
INSERT INTO {delivery_table} ({delivery_columns}, outcome, event_id)
SELECT {delivery_values}, CASE WHEN created THEN %s ELSE %s END, id FROM the_event
RETURNING id, event_id, outcome
"""


def _insert_in_one_statement(*, event: WebhookEvent, delivery: WebhookDelivery) -> bool:
    event_columns, event_params = _column_values(event)
    delivery_columns, delivery_params = _column_values(delivery, skip={"outcome", "event"})
    quote = connection.ops.quote_name
    sql = _INSERT_EVENT_AND_DELIVERY.format(
        event_table=quote(WebhookEvent._meta.db_table),
        event_columns=", ".join(map(quote, event_columns)),
        event_values=", ".join(["%s"] * len(event_columns)),
        delivery_table=quote(WebhookDelivery._meta.db_table),
        delivery_columns=", ".join(map(quote, delivery_columns)),
        delivery_values=", ".join(["%s"] * len(delivery_columns)),
    )
    params = [
        *event_params,
        event.provider,
        event.event_key,
        *delivery_params,
        DeliveryOutcome.ACCEPTED,
        DeliveryOutcome.DUPLICATE,
    ]
    connection.ensure_connection()
    # A server-side bound, prepared statement: PostgreSQL parses and plans it once per
    # connection instead of on every delivery (Django's own cursors bind client-side).
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        # The statement sees the table as it was when it began. If another delivery of the same
        # event is inserting it at that moment, ON CONFLICT waits for it and skips, yet the
        # event row is not visible to this statement: no row comes back. Running it again (a
        # new snapshot) finds the committed row and records this delivery as a duplicate.
        for _ in range(3):
            cursor.execute(sql, params, prepare=True)
            row = cursor.fetchone()
            if row is not None:
                break
        else:
            raise IntegrityError(f"event {event.event_key[:12]} neither inserted nor found")
    delivery.pk, event.pk, delivery.outcome = row
    delivery.event_id = event.pk
    return delivery.outcome == DeliveryOutcome.ACCEPTED


def _column_values(instance: Any, skip: frozenset[str] | set[str] = frozenset()) -> tuple:
    """Column names and database values for inserting `instance`, exactly as Model.save()
    would prepare them (auto_now_add, defaults, encryption of the body)."""
    columns, params = [], []
    for model_field in instance._meta.concrete_fields:
        if model_field.primary_key or model_field.name in skip:
            continue
        value = model_field.pre_save(instance, add=True)
        columns.append(model_field.column)
        params.append(model_field.get_db_prep_save(value, connection))
    return columns, params


def _insert_with_savepoint(*, event: WebhookEvent, delivery: WebhookDelivery) -> bool:
    """The same, for databases without data-modifying WITH (SQLite: the embedded default)."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                event.save(force_insert=True)
            created = True
        except IntegrityError:  # the unique key: this event is already stored
            event = WebhookEvent.objects.get(provider=event.provider, event_key=event.event_key)
            created = False
        delivery.event = event
        delivery.outcome = DeliveryOutcome.ACCEPTED if created else DeliveryOutcome.DUPLICATE
        delivery.save()
    return created


def webhook_event_process(*, event_id: int) -> str:
    """Run each handler for one stored event exactly once. Safe to call again, concurrently.

    The event row is locked; a processed (or otherwise finished) event returns at once. The
    handlers' database effects and the "processed" mark commit in one transaction, so a crash
    leaves either both or neither. Returns the event's resulting status.
    """
    _prepare(event_id)
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_id)
        if event.status != EventStatus.RECEIVED:
            return event.status  # a duplicate delivery, a retry after success, support's retry
        handlers = handlers_for(provider=event.provider, event_type=event.event_type)
        event.attempts += 1
        if not handlers:
            event.status = EventStatus.UNHANDLED
            logger.info("no handler for %s event %s", event.provider, event.pk)
        else:
            try:
                with transaction.atomic():  # a not-ready handler leaves no partial effects
                    outcomes = [handler(event) for handler in handlers]
            except EventNotReady as exc:
                return _postpone(event, str(exc))
            event.status = EventStatus.PROCESSED if "applied" in outcomes else EventStatus.IGNORED
            event.outcome_note = ", ".join(outcomes)[:255]
        event.processed_at = timezone.now()
        event.next_attempt_at = None
        event.claimed_until = None
        event.save(update_fields=_PROCESSING_FIELDS)
        return event.status


# What processing changes on an event. Saving only these keeps a status change from
# re-encrypting and rewriting the stored body every time.
_PROCESSING_FIELDS = [
    "status",
    "attempts",
    "outcome_note",
    "processed_at",
    "next_attempt_at",
    "claimed_until",
    "last_error",
]


def _prepare(event_id: int) -> None:
    """Run the event's preparers once, before its locked transaction: they may call the
    provider's API, which must never happen while a row lock is held."""
    # Most types have no preparer: decide on the plain columns, without decrypting the body.
    provider, event_type = WebhookEvent.objects.values_list("provider", "event_type").get(
        pk=event_id
    )
    preparers = preparers_for(provider=provider, event_type=event_type)
    if not preparers:
        return
    event = WebhookEvent.objects.get(pk=event_id)
    if event.status != EventStatus.RECEIVED or event.context is not None:
        return
    context: dict = {}
    for preparer in preparers:
        context.update(preparer(event))
    WebhookEvent.objects.filter(pk=event_id, context__isnull=True).update(context=context)


def _postpone(event: WebhookEvent, reason: str) -> str:
    """Keep the event for a later attempt; after too many, hand it to support as failed."""
    event.last_error = reason[:1000]
    if event.attempts >= NOT_READY_MAX_ATTEMPTS:
        event.status = EventStatus.FAILED
        event.next_attempt_at = None
    else:
        delay = NOT_READY_BASE_DELAY * (2 ** (event.attempts - 1))
        event.next_attempt_at = timezone.now() + delay * random.uniform(1.0, 1.25)  # noqa: S311 - jitter
    event.claimed_until = None
    event.save(update_fields=_PROCESSING_FIELDS)
    return event.status


def webhook_events_claim(*, limit: int, now: datetime.datetime | None = None) -> list[int]:
    """Take up to `limit` events that are due (received, not postponed, not claimed by a live
    worker) for this worker, oldest first. Concurrent workers skip each other's locked rows, so
    no two claim the same event; a claim lasts CLAIM_LEASE."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            WebhookEvent.objects.select_for_update(skip_locked=True)
            .filter(status=EventStatus.RECEIVED)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            WebhookEvent.objects.filter(pk__in=ids).update(claimed_until=now + CLAIM_LEASE)
    return ids


def webhook_events_work(*, limit: int = 20, now: datetime.datetime | None = None) -> int:
    """Claim a batch of due events and run each; returns how many were claimed. What a
    `process_webhooks` worker does in a loop, and what a test calls to stand in for one."""
    ids = webhook_events_claim(limit=limit, now=now)
    for event_id in ids:
        webhook_event_run(event_id=event_id)
    return len(ids)


def webhook_event_run(*, event_id: int) -> str:
    """Process one event; an unexpected error is recorded on the event and retried with
    backoff (ERROR_MAX_ATTEMPTS in all), then the event is failed with its traceback."""
    try:
        return webhook_event_process(event_id=event_id)
    except Exception as exc:
        # The id and the error's class only: a message or traceback may quote the body.
        logger.warning("webhook event %s failed: %s", event_id, type(exc).__name__)
        return _retry_after_error(event_id=event_id, error=exc)


def _retry_after_error(*, event_id: int, error: BaseException) -> str:
    details = "".join(traceback.format_exception(error))[-4000:]
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_id)
        if event.status != EventStatus.RECEIVED:
            return event.status
        event.attempts += 1  # the failed attempt's own increment was rolled back with it
        event.last_error = details
        event.claimed_until = None
        if event.attempts >= ERROR_MAX_ATTEMPTS:
            event.status = EventStatus.FAILED
            event.next_attempt_at = None
        else:
            delay = min(600, 5 * 2 ** (event.attempts - 1)) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter
            event.next_attempt_at = timezone.now() + datetime.timedelta(seconds=delay)
        event.save(update_fields=_PROCESSING_FIELDS)
        return event.status


@transaction.atomic
def webhook_event_reprocess(*, event: WebhookEvent) -> None:
    """Support's retry: a failed, unhandled or malformed event goes back to the queue.
    Idempotent: the handlers make their effects once, however often an event is processed."""
    event = WebhookEvent.objects.select_for_update().get(pk=event.pk)
    if event.body_pruned_at is not None:
        return  # retention cleared its body: there is nothing left to process
    if event.status in {EventStatus.FAILED, EventStatus.UNHANDLED, EventStatus.RESOLVED}:
        event.status = EventStatus.RECEIVED
        event.attempts = 0
        event.next_attempt_at = None
        event.claimed_until = None
        event.save(update_fields=_PROCESSING_FIELDS)
    if event.status == EventStatus.RECEIVED:
        # A lambda, not functools.partial: Django logs a failing robust callback by __qualname__.
        transaction.on_commit(lambda event_id=event.pk: _dispatch(event_id), robust=True)


def webhook_event_mark_resolved(*, event: WebhookEvent, note: str = "") -> None:
    WebhookEvent.objects.filter(pk=event.pk).exclude(status=EventStatus.PROCESSED).update(
        status=EventStatus.RESOLVED,
        outcome_note=(note or "resolved by support")[:255],
        next_attempt_at=None,
    )


# Finished events whose body nobody needs again. Failed and unhandled events are kept whole:
# support may still reprocess them, which needs the body.
PRUNABLE_STATUSES = [
    EventStatus.PROCESSED,
    EventStatus.IGNORED,
    EventStatus.RESOLVED,
    EventStatus.MALFORMED,
]
PRUNE_BATCH = 500


def webhook_bodies_prunable(
    *, now: datetime.datetime | None = None
) -> tuple[datetime.datetime, QuerySet[WebhookEvent]]:
    """The cutoff and the events webhook_bodies_prune would clear (for --dry-run too)."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.WEBHOOK_BODY_RETENTION_DAYS)
    events = WebhookEvent.objects.filter(
        received_at__lt=cutoff, status__in=PRUNABLE_STATUSES, body_pruned_at__isnull=True
    )
    return cutoff, events


def webhook_bodies_prune(*, now: datetime.datetime | None = None) -> int:
    """Clear the body and looked-up context of finished events received before the retention
    period (settings.WEBHOOK_BODY_RETENTION_DAYS); keep the row, its event key and statuses,
    so a late re-delivery of the same event is still recognised as a duplicate. Safe to run
    again: pruned events are skipped. One PurgeLog row per run that cleared anything."""
    now = now or timezone.now()
    cutoff, events = webhook_bodies_prunable(now=now)
    pruned = 0
    while ids := list(events.values_list("pk", flat=True)[:PRUNE_BATCH]):
        pruned += WebhookEvent.objects.filter(pk__in=ids, body_pruned_at__isnull=True).update(
            raw_body=b"", context=None, body_pruned_at=now
        )
    if pruned:
        PurgeLog.objects.create(kind=PurgeKind.WEBHOOK_BODIES, cutoff=cutoff, rows=pruned)
        logger.info("pruned the bodies of %s webhook events received before %s", pruned, cutoff)
    return pruned
