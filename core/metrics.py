"""Prometheus metrics computed from the database at scrape time (prometheus-client).

Counts come from the rows themselves rather than in-process counters, so every web process
answers the same figures and nothing is lost when a process restarts. Labels are small fixed
sets (provider, outcome, status, event type); no patient identifier is ever a label.
"""

from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone
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
        for row in WebhookEvent.objects.values("provider", "event_type", "status").annotate(
            n=Count("pk")
        ):
            events.add_metric([row["provider"], row["event_type"], row["status"]], row["n"])
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
        soon = timezone.now() + timezone.timedelta(hours=HOLD_EXPIRY_WARNING_HOURS)
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


def metrics_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ClinicCollector())
    return registry
