"""Webhook bodies are pruned after WEBHOOK_BODY_RETENTION_DAYS once their event is finished;
the event key stays, so a late re-delivery of the same event is still only a duplicate."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from core.models import PurgeKind, PurgeLog
from core.roles import SUPPORT_STAFF
from tests.accounts.factories import StaffUserFactory
from tests.staff import staff_login
from tests.webhooks.helpers import mdi_body, post_mdi
from webhooks.models import DeliveryOutcome, EventStatus, WebhookDelivery, WebhookEvent
from webhooks.services import webhook_bodies_prune, webhook_event_reprocess

pytestmark = pytest.mark.django_db

NOW = timezone.now()
LONG_AGO = NOW - datetime.timedelta(days=91)


@pytest.fixture
def old_processed_event(case, deliver):
    body = mdi_body(
        "case_assigned_to_clinician",
        case_id=case.mdi_case_id,
        metadata=str(case.public_id),
        timestamp=100,
    )
    deliver("case_assigned_to_clinician", case, timestamp=100)
    WebhookEvent.objects.update(received_at=LONG_AGO, context={"looked_up": "x"})
    event = WebhookEvent.objects.get()
    assert event.status == EventStatus.PROCESSED
    return event, body


def test_a_finished_event_past_retention_loses_its_body_and_context(old_processed_event):
    event, _ = old_processed_event
    key = event.event_key
    assert webhook_bodies_prune(now=NOW) == 1
    event.refresh_from_db()
    assert (event.raw_body, event.context, event.body_pruned_at) == (b"", None, NOW)
    assert (event.event_key, event.status) == (key, EventStatus.PROCESSED)
    log = PurgeLog.objects.get()
    assert (log.kind, log.rows) == (PurgeKind.WEBHOOK_BODIES, 1)


def test_after_pruning_a_late_redelivery_is_a_duplicate_not_a_new_event(
    client, old_processed_event
):
    event, body = old_processed_event
    webhook_bodies_prune(now=NOW)
    assert post_mdi(client, body).status_code == 200
    assert WebhookEvent.objects.count() == 1
    latest = WebhookDelivery.objects.order_by("-pk").first()
    assert (latest.outcome, latest.event_id) == (DeliveryOutcome.DUPLICATE, event.pk)


def test_a_second_run_prunes_nothing_and_logs_nothing(old_processed_event):
    webhook_bodies_prune(now=NOW)
    assert webhook_bodies_prune(now=NOW) == 0
    assert PurgeLog.objects.count() == 1


def test_recent_events_and_events_support_may_still_reprocess_are_kept(case, deliver, settings):
    deliver("case_assigned_to_clinician", case, timestamp=100)
    deliver("case_waiting", case, timestamp=200)
    deliver("case_approved", case, timestamp=300)
    _recent, failed, unhandled = WebhookEvent.objects.order_by("pk")
    WebhookEvent.objects.filter(pk__in=[failed.pk, unhandled.pk]).update(received_at=LONG_AGO)
    WebhookEvent.objects.filter(pk=failed.pk).update(status=EventStatus.FAILED)
    WebhookEvent.objects.filter(pk=unhandled.pk).update(status=EventStatus.UNHANDLED)
    assert webhook_bodies_prune(now=NOW) == 0
    assert all(e.raw_body for e in WebhookEvent.objects.all())
    assert not PurgeLog.objects.exists()


def test_the_retention_period_is_a_setting(old_processed_event, settings):
    settings.WEBHOOK_BODY_RETENTION_DAYS = 120
    assert webhook_bodies_prune(now=NOW) == 0
    settings.WEBHOOK_BODY_RETENTION_DAYS = 30
    assert webhook_bodies_prune(now=NOW) == 1


def test_a_pruned_event_is_never_sent_back_for_processing(
    old_processed_event, django_capture_on_commit_callbacks
):
    event, _ = old_processed_event
    WebhookEvent.objects.filter(pk=event.pk).update(status=EventStatus.RESOLVED)
    webhook_bodies_prune(now=NOW)
    with django_capture_on_commit_callbacks() as callbacks:
        webhook_event_reprocess(event=event)
    event.refresh_from_db()
    assert (event.status, callbacks) == (EventStatus.RESOLVED, [])


def test_the_admin_page_of_a_pruned_event_says_when_its_body_was_removed(
    client, old_processed_event
):
    event, _ = old_processed_event
    webhook_bodies_prune(now=NOW)
    support = StaffUserFactory()
    support.groups.add(Group.objects.get(name=SUPPORT_STAFF))
    page = staff_login(client, support).get(
        reverse("admin:webhooks_webhookevent_change", args=[event.pk])
    )
    assert page.status_code == 200
    assert f"Removed on {NOW:%Y-%m-%d}" in page.content.decode()


def test_the_command_counts_on_a_dry_run_and_prunes_otherwise(old_processed_event, capsys):
    event, _ = old_processed_event
    call_command("prune_webhook_bodies", "--dry-run")
    assert "Would prune 1 event bodies" in capsys.readouterr().out
    event.refresh_from_db()
    assert event.raw_body and event.body_pruned_at is None
    call_command("prune_webhook_bodies")
    assert "Pruned 1 event bodies" in capsys.readouterr().out
    event.refresh_from_db()
    assert event.raw_body == b""


def test_the_daily_task_is_scheduled_and_prunes(old_processed_event, settings):
    from webhooks.tasks import webhook_bodies_prune_task

    schedule = settings.CELERY_BEAT_SCHEDULE["webhook-bodies-prune"]
    assert schedule["task"] == webhook_bodies_prune_task.name
    assert webhook_bodies_prune_task.delay().get() == 1
