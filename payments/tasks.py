"""Thin Celery wrappers: the services lock, check and move money; these retry and report."""

import random

from celery import shared_task

MAX_RETRIES = 5


def _backoff(retries: int) -> float:
    return min(3600, 30 * 2**retries) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def payment_capture_task(self, *, payment_id: int) -> str:
    from payments.services import payment_capture, payment_capture_mark_failed

    outcome = payment_capture(payment_id=payment_id)
    if outcome == "retry":
        if self.request.retries >= self.max_retries:
            payment_capture_mark_failed(payment_id=payment_id)
            return "failed"
        raise self.retry(countdown=_backoff(self.request.retries))
    return outcome


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def payment_release_task(self, *, payment_id: int) -> str:
    from core.exceptions import TransientError
    from payments.gateways import GatewayDeclined
    from payments.services import payment_release, payment_release_mark_refused

    try:
        return payment_release(payment_id=payment_id)
    except GatewayDeclined as refusal:
        payment_release_mark_refused(payment_id=payment_id, reason=refusal.reason)
        return "refused"
    except TransientError as exc:
        if self.request.retries >= self.max_retries:
            payment_release_mark_refused(payment_id=payment_id, reason=str(exc))
            return "failed"
        raise self.retry(countdown=_backoff(self.request.retries)) from exc


@shared_task(acks_late=True)
def payments_sweep_task() -> dict:
    from payments.services import payment_holds_sweep, payments_requested_sweep

    return {**payment_holds_sweep(), "requeued": payments_requested_sweep()}
