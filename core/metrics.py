"""Prometheus metrics for /metrics (prometheus-client).

Two kinds. The clinic's own figures are computed from the database at scrape time rather than
kept in in-process counters, so every web process answers the same figures and nothing is lost
when a process restarts. Labels are small fixed sets (provider, outcome, status, event type);
no patient identifier is ever a label.

Request counts and latencies come from django-prometheus's middleware pair (settings), which
counts in process into prometheus-client's default registry, labelled by method, status and
view name (the URL pattern's name, never the path: paths carry ids). Under gunicorn each worker
is a process of its own, so gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR: every worker then
writes its counts to files there and a scrape, whichever worker answers it, adds them all up.
"""

import datetime
import os
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import REGISTRY, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

HOLD_EXPIRY_WARNING_HOURS = 24


class ClinicCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        from cases.models import Case, SubmissionStatus
        from payments.models import Payment, PaymentStatus
        from webhooks.models import EventStatus, WebhookDelivery, WebhookEvent

        deliveries = CounterMetricFamily(
            "thinclinic_webhook_deliveries",
            "Webhook requests received, by provider and outcome "
            "(accepted, duplicate, unauthenticated, too_large).",
            labels=["provider", "outcome"],
        )
        for row in WebhookDelivery.objects.values("provider", "outcome").annotate(n=Count("pk")):
            deliveries.add_metric([row["provider"], row["outcome"]], row["n"])
        yield deliveries

        events = GaugeMetricFamily(
            "thinclinic_webhook_events",
            "Stored webhook events by provider, type and processing status.",
            labels=["provider", "event_type", "status"],
        )
        for event in WebhookEvent.objects.values("provider", "event_type", "status").annotate(
            n=Count("pk")
        ):
            events.add_metric([event["provider"], event["event_type"], event["status"]], event["n"])
        yield events

        oldest = WebhookEvent.objects.filter(status=EventStatus.RECEIVED).aggregate(
            at=Min("received_at")
        )["at"]
        yield GaugeMetricFamily(
            "thinclinic_webhook_oldest_unprocessed_seconds",
            "Age of the oldest webhook event not processed yet (0 when none waits).",
            value=(timezone.now() - oldest).total_seconds() if oldest else 0,
        )

        submissions = GaugeMetricFamily(
            "thinclinic_case_submissions",
            "Visits by our own delivery to MDI (pending, sending, failed).",
            labels=["status"],
        )
        counts = dict(
            Case.objects.exclude(submission_status=SubmissionStatus.SENT)
            .values_list("submission_status")
            .annotate(n=Count("pk"))
        )
        for status in (SubmissionStatus.PENDING, SubmissionStatus.SENDING, SubmissionStatus.FAILED):
            submissions.add_metric([status], counts.get(status, 0))
        yield submissions

        authorized = Payment.objects.filter(status=PaymentStatus.AUTHORIZED)
        yield GaugeMetricFamily(
            "thinclinic_payments_awaiting_capture",
            "Authorized holds whose capture was asked for (a clinician approved) but not done.",
            value=authorized.filter(capture_requested_at__isnull=False).count(),
        )
        soon = timezone.now() + datetime.timedelta(hours=HOLD_EXPIRY_WARNING_HOURS)
        yield GaugeMetricFamily(
            "thinclinic_payment_holds_expiring_soon",
            f"Authorized holds that lapse within {HOLD_EXPIRY_WARNING_HOURS} hours.",
            value=authorized.filter(hold_expires_at__lt=soon).count(),
        )

        if settings.REDIS_URL:
            yield GaugeMetricFamily(
                "thinclinic_celery_queue_length",
                "Tasks waiting in the broker's default queue.",
                value=_queue_length(),
            )


def _queue_length() -> float:
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
        return float(client.llen(settings.CELERY_TASK_DEFAULT_QUEUE))
    except redis.RedisError:
        return float("nan")  # unknown: an alert on the broker's health covers it


class _ProcessCollector(Collector):
    """This process's default registry: the request metrics when one process serves them all."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def metrics_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ClinicCollector())
    multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiproc_dir:
        # Every worker's request metrics, summed (the per-process ones would be one worker's).
        # It registers itself; prometheus-client leaves its __init__ unannotated.
        multiprocess.MultiProcessCollector(registry, path=multiproc_dir)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ProcessCollector())
    return registry
