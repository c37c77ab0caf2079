import random

from celery import shared_task


def _backoff(retries: int) -> float:
    return min(600, 5 * 2**retries) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not crypto


@shared_task(bind=True, acks_late=True, max_retries=5)
def webhook_event_process_task(self, *, event_id: int) -> str:
    """Process one stored event; unexpected errors retry with backoff, then mark it failed."""
    from webhooks.services import webhook_event_mark_failed, webhook_event_process

    try:
        return webhook_event_process(event_id=event_id)
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            webhook_event_mark_failed(event_id=event_id, error=exc)
            return "failed"
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


@shared_task(acks_late=True)
def webhook_events_sweep_task() -> int:
    from webhooks.services import webhook_events_sweep

    return webhook_events_sweep()


@shared_task(acks_late=True)
def webhook_bodies_prune_task() -> int:
    from webhooks.services import webhook_bodies_prune

    return webhook_bodies_prune()
