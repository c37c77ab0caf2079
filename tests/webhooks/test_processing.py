"""Exactly-once processing: the event-table queue, retries, postponed events, reprocessing,
races."""

import datetime

import pytest
from django.utils import timezone

from cases.models import CaseStatus, CaseTimelineEntry, Notification
from tests.cases.factories import CaseFactory
from tests.concurrency import at_once
from tests.payments.factories import requested_payment_moves
from tests.webhooks.helpers import mdi_body, post_mdi
from webhooks import registry
from webhooks.models import EventStatus, WebhookEvent
from webhooks.services import (
    ERROR_MAX_ATTEMPTS,
    NOT_READY_MAX_ATTEMPTS,
    webhook_event_mark_resolved,
    webhook_event_process,
    webhook_event_reprocess,
    webhook_events_work,
)

pytestmark = pytest.mark.django_db


def test_processing_twice_applies_once(case, deliver):
    deliver("case_approved", case)
    event = WebhookEvent.objects.get()
    assert webhook_event_process(event_id=event.pk) == EventStatus.PROCESSED  # returns at once
    case.refresh_from_db()
    assert case.status == CaseStatus.APPROVED
    assert CaseTimelineEntry.objects.count() == 1
    assert requested_payment_moves(case.payment) == ["capture"]


def test_with_workers_the_web_process_stores_and_a_worker_applies(client, case, settings):
    """Production's shape: acknowledging only stores the event; a worker claims and applies it."""
    settings.WEBHOOK_PROCESSING = "worker"
    assert post_mdi(client, mdi_body("case_approved", case_id=case.mdi_case_id)).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == EventStatus.RECEIVED
    case.refresh_from_db()
    assert case.status != CaseStatus.APPROVED  # nothing applied by the web process
    assert webhook_events_work() == 1
    event.refresh_from_db()
    assert event.status == EventStatus.PROCESSED
    case.refresh_from_db()
    assert case.status == CaseStatus.APPROVED
    assert webhook_events_work() == 0  # nothing is claimed twice


def test_acknowledging_never_touches_the_broker(client, case, settings, monkeypatch):
    """With Redis down, MDI still gets its 200 at once: the event row is the whole hand-off."""
    settings.WEBHOOK_PROCESSING = "worker"
    publishes = []

    def broker_down(*args, **kwargs):
        publishes.append(args)
        raise ConnectionError("redis unreachable")

    monkeypatch.setattr("celery.app.task.Task.apply_async", broker_down)
    assert post_mdi(client, mdi_body("case_approved", case_id=case.mdi_case_id)).status_code == 200
    assert publishes == []
    assert WebhookEvent.objects.get().status == EventStatus.RECEIVED


def test_an_event_that_beats_the_case_id_is_matched_by_metadata(deliver):
    case = CaseFactory(mdi_case_id=None)
    deliver("case_assigned_to_clinician", case_id="mdi-late-1", metadata=str(case.public_id))
    case.refresh_from_db()
    assert (case.mdi_case_id, case.status) == ("mdi-late-1", CaseStatus.UNDER_REVIEW)


def test_an_event_for_an_unknown_case_is_retried_later_then_applied(deliver):
    deliver("case_assigned_to_clinician", case_id="mdi-not-yet")
    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts) == (EventStatus.RECEIVED, 1)
    assert event.next_attempt_at > timezone.now()
    assert "no case yet" in event.last_error
    assert webhook_events_work() == 0  # postponed: not due yet
    case = CaseFactory(mdi_case_id="mdi-not-yet")  # our save of the MDI id lands
    assert webhook_events_work(now=timezone.now() + datetime.timedelta(hours=1)) == 1
    case.refresh_from_db()
    assert case.status == CaseStatus.UNDER_REVIEW


def test_an_event_that_never_finds_its_case_fails_for_support(deliver):
    deliver("case_assigned_to_clinician", case_id="mdi-never")
    event = WebhookEvent.objects.get()
    for _ in range(NOT_READY_MAX_ATTEMPTS - 1):
        webhook_event_process(event_id=event.pk)
    event.refresh_from_db()
    assert event.status == EventStatus.FAILED


@pytest.fixture
def exploding_handler(monkeypatch):
    calls = []

    def explode(event):
        calls.append(event.pk)
        raise RuntimeError("handler bug")

    monkeypatch.setitem(registry._HANDLERS, ("mdi", "patient_created"), [explode])
    return calls


def test_a_failing_handler_is_retried_with_backoff_then_failed_with_its_traceback(
    client, exploding_handler, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_mdi(client, mdi_body("patient_created", patient_id="p"))
    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts) == (EventStatus.RECEIVED, 1)
    assert event.next_attempt_at > timezone.now()  # backoff, not a hot loop
    assert webhook_events_work() == 0
    later = timezone.now()
    while webhook_events_work(now=(later := later + datetime.timedelta(hours=1))):
        pass
    event.refresh_from_db()
    assert len(exploding_handler) == ERROR_MAX_ATTEMPTS
    assert (event.status, event.attempts) == (EventStatus.FAILED, ERROR_MAX_ATTEMPTS)
    assert "RuntimeError: handler bug" in event.last_error
    assert "Traceback" in event.last_error


def test_support_reprocesses_a_failed_event_idempotently(
    client, exploding_handler, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_mdi(client, mdi_body("patient_created", patient_id="p"))
    WebhookEvent.objects.update(status=EventStatus.FAILED)  # its retries ran out
    event = WebhookEvent.objects.get()
    monkeypatch.setitem(registry._HANDLERS, ("mdi", "patient_created"), [lambda e: "applied"])
    with django_capture_on_commit_callbacks(execute=True):
        webhook_event_reprocess(event=event)
    event.refresh_from_db()
    assert event.status == EventStatus.PROCESSED
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        webhook_event_reprocess(event=event)  # already processed: nothing to do
    assert callbacks == []


def test_mark_resolved_never_overrides_a_processed_event(case, deliver):
    deliver("case_approved", case)
    event = WebhookEvent.objects.get()
    webhook_event_mark_resolved(event=event)
    event.refresh_from_db()
    assert event.status == EventStatus.PROCESSED


def test_a_handler_name_mdi_does_not_send_fails_at_import():
    with pytest.raises(ValueError, match="case_teleported"):
        registry.webhook_handler("mdi", ["case_teleported"])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_on_one_event_apply_it_once(client):
    """Two connections process the same event at the same moment: the row lock makes one
    wait, then see it processed. One transition, one capture, one notification."""
    case = CaseFactory(under_review=True)
    post_mdi(
        client, mdi_body("case_approved", case_id=case.mdi_case_id)
    )  # on_commit runs it eagerly
    event = WebhookEvent.objects.get()
    WebhookEvent.objects.filter(pk=event.pk).update(status=EventStatus.RECEIVED, processed_at=None)
    CaseTimelineEntry.objects.all().delete()
    Notification.objects.all().delete()
    type(case.payment).objects.filter(pk=case.payment_id).update(capture_requested_at=None)
    type(case).objects.filter(pk=case.pk).update(status=CaseStatus.UNDER_REVIEW)

    results = at_once(lambda: webhook_event_process(event_id=event.pk))
    assert sorted(results) == [EventStatus.PROCESSED, EventStatus.PROCESSED]
    assert CaseTimelineEntry.objects.filter(event=event).count() == 1
    assert requested_payment_moves(case.payment) == ["capture"]
    assert Notification.objects.filter(case=case).count() == 1


def test_a_failing_dispatch_after_commit_never_breaks_the_acknowledgement(
    client, monkeypatch, django_capture_on_commit_callbacks
):
    """robust on_commit callbacks must be loggable: a crash there is logged, the 200 stands."""

    def explode(event_id: int) -> None:
        raise RuntimeError("enqueue exploded")

    from webhooks import services

    monkeypatch.setattr(services, "_dispatch", explode)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_mdi(client, mdi_body("patient_created", patient_id="p"))
    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == EventStatus.RECEIVED
    assert webhook_events_work() == 1  # a worker takes it
