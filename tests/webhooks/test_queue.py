"""The event table as the work queue: claims, leases, concurrent workers and deliveries, and
what an outage of Redis or of a database connection costs the sender."""

import datetime
import time

import psycopg
import pytest
from celery import Celery
from django.core.management import call_command
from django.db import close_old_connections, connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cases.models import CaseStatus, CaseTimelineEntry
from core.tasks import task_enqueue
from tests.cases.factories import CaseFactory
from tests.concurrency import at_once
from tests.webhooks.helpers import mdi_body, post_mdi
from webhooks.models import DeliveryOutcome, EventStatus, WebhookDelivery, WebhookEvent
from webhooks.services import CLAIM_LEASE, webhook_events_claim, webhook_events_work

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker_mode(settings):
    settings.WEBHOOK_PROCESSING = "worker"


def _store_events(client, cases, event_type="case_assigned_to_clinician"):
    for case in cases:
        body = mdi_body(event_type, case_id=case.mdi_case_id, metadata=str(case.public_id))
        assert post_mdi(client, body).status_code == 200


def test_a_claim_holds_an_event_until_its_lease_lapses(client, worker_mode):
    """A worker killed after claiming leaves its events stranded only for CLAIM_LEASE; then
    another worker takes and applies them, once."""
    case = CaseFactory()
    _store_events(client, [case])
    now = timezone.now()
    claimed = webhook_events_claim(limit=10, now=now)  # worker A, which then dies
    assert len(claimed) == 1
    assert webhook_events_work(now=now + CLAIM_LEASE / 2) == 0  # worker B: still A's
    assert webhook_events_work(now=now + CLAIM_LEASE + datetime.timedelta(seconds=1)) == 1
    case.refresh_from_db()
    assert case.status == CaseStatus.UNDER_REVIEW
    assert WebhookEvent.objects.get().claimed_until is None
    assert CaseTimelineEntry.objects.filter(case=case).count() == 1
    assert datetime.timedelta(seconds=30) >= CLAIM_LEASE  # the stranded-event promise


def test_claims_come_oldest_first_and_skip_postponed_and_finished_events(client, worker_mode):
    cases = CaseFactory.create_batch(3)
    _store_events(client, cases)
    first, second, third = WebhookEvent.objects.order_by("pk")
    WebhookEvent.objects.filter(pk=second.pk).update(
        next_attempt_at=timezone.now() + datetime.timedelta(minutes=5)
    )
    WebhookEvent.objects.filter(pk=third.pk).update(status=EventStatus.PROCESSED)
    assert webhook_events_claim(limit=10) == [first.pk]
    later = timezone.now() + datetime.timedelta(minutes=10)
    # The postponed event is due, and the first one's claim (never finished) has lapsed.
    assert webhook_events_claim(limit=10, now=later) == [first.pk, second.pk]


@pytest.mark.django_db(transaction=True)  # the worker manages its connection between batches
def test_process_webhooks_once_drains_what_is_due(client, worker_mode):
    cases = CaseFactory.create_batch(3)
    _store_events(client, cases)
    call_command("process_webhooks", "--once", "--batch", "2", stdout=(out := _Output()))
    assert "processed 3 webhook events" in out.text
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {EventStatus.PROCESSED}


class _Output:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_at_once_never_take_the_same_event(worker_mode):
    client = Client()
    cases = CaseFactory.create_batch(10)
    _store_events(client, cases)
    claims = at_once(lambda: webhook_events_claim(limit=6))
    first, second = claims
    assert not set(first) & set(second)
    assert len(first) + len(second) == 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_deliveries_of_one_event_store_it_once(worker_mode):
    """MDI's retry arriving while the first delivery is still being stored: one event, every
    delivery recorded (one accepted, the rest duplicates), every sender answered 200."""
    case = CaseFactory()
    body = mdi_body("case_approved", case_id=case.mdi_case_id, metadata=str(case.public_id))
    senders = 8
    statuses = at_once(lambda: post_mdi(Client(), body).status_code, times=senders)
    assert statuses == [200] * senders
    assert WebhookEvent.objects.count() == 1
    outcomes = sorted(WebhookDelivery.objects.values_list("outcome", flat=True))
    assert outcomes == [DeliveryOutcome.ACCEPTED] + [DeliveryOutcome.DUPLICATE] * (senders - 1)
    assert webhook_events_work() == 1
    case.refresh_from_db()
    assert case.status == CaseStatus.APPROVED


def _kill_this_connection_server_side() -> None:
    """Open a persistent connection, as gunicorn's workers hold one, and have the server
    terminate it (what a restart, failover or idle timeout does)."""
    connection.close()
    connection.ensure_connection()
    backend_pid = connection.connection.info.backend_pid
    dsn = connection.get_connection_params()
    dsn.pop("cursor_factory", None)
    dsn.pop("context", None)
    with psycopg.connect(**dsn, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
        for _ in range(100):  # the termination is asynchronous
            if not other.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend_pid]
            ).fetchone():
                break
            time.sleep(0.02)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_webhook_on_a_connection_the_database_closed_is_stored_not_a_500(
    monkeypatch, worker_mode
):
    """The receipt skips the per-request health check (a round trip) and instead runs its
    one idempotent statement again on a new connection."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", False)
    case = CaseFactory()
    client = Client()
    _kill_this_connection_server_side()
    body = mdi_body("case_approved", case_id=case.mdi_case_id, metadata=str(case.public_id))
    close_old_connections()  # what Django does as each request starts (the test client does not)
    assert post_mdi(client, body).status_code == 200
    assert WebhookEvent.objects.count() == 1
    assert WebhookDelivery.objects.get().outcome == DeliveryOutcome.ACCEPTED
    connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_page_on_a_connection_the_database_closed_is_served_not_a_500(
    settings, monkeypatch, user
):
    """Everywhere else CONN_HEALTH_CHECKS replaces a dead persistent connection before the
    request's first query."""
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    client = Client()
    client.force_login(user)
    _kill_this_connection_server_side()
    close_old_connections()
    assert client.get(reverse("cases:dashboard")).status_code == 200
    connection.close()


def test_an_unreachable_broker_costs_a_request_milliseconds_not_seconds(settings):
    """Publishing with Redis down fails at once (the task's row waits for its sweeper)."""
    app = Celery("outage-probe", set_as_current=False)  # the real app stays current
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.broker_url = "redis://127.0.0.1:9/0"  # nothing listens on port 9
    app.conf.task_always_eager = False

    @app.task(name="outage_probe")
    def probe(**ids: int) -> None:  # pragma: no cover - never runs
        pass

    started = time.monotonic()
    assert task_enqueue(probe, thing_id=1) is False
    assert time.monotonic() - started < 1.5
