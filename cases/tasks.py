"""Thin Celery wrappers: the services decide retries (the submission's own state machine and
the sweeper), so a task never re-sends anything by itself. Notifications are the exception:
their task retries a transient failure with backoff, a bounded number of times."""

import random

from celery import shared_task

NOTIFICATION_MAX_RETRIES = 5


def _backoff(retries: int) -> float:
    return min(3600, 60 * 2**retries) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter


# Longer than a send can take with every client retry; shorter than the submission lease.
@shared_task(acks_late=True, soft_time_limit=240, time_limit=270)
def case_send_to_mdi_task(*, case_id: int) -> str:
    from cases.mdi_client import mdi_client
    from cases.services.submission import case_send_to_mdi

    return case_send_to_mdi(case_id=case_id, client=mdi_client()).submission_status


@shared_task(acks_late=True)
def case_duplicate_cancel_task(*, duplicate_id: int) -> None:
    from cases.mdi_client import mdi_client
    from cases.services.submission import case_duplicate_cancel

    case_duplicate_cancel(duplicate_id=duplicate_id, client=mdi_client())


@shared_task(acks_late=True)
def case_submissions_sweep_task() -> int:
    from cases.services.submission import case_submissions_sweep

    return case_submissions_sweep()


# Sends once per call; a failure leaves the message failed for the patient's Retry.
@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def case_message_send_task(*, message_id: int) -> str:
    from cases.mdi_client import mdi_client
    from cases.services.messages import case_message_send

    return case_message_send(message_id=message_id, client=mdi_client()).status


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def action_request_upload_task(*, action_id: int) -> bool:
    from cases.mdi_client import mdi_client
    from cases.services.messages import action_request_upload_send

    return (
        action_request_upload_send(action_id=action_id, client=mdi_client()).closed_at is not None
    )


@shared_task(bind=True, acks_late=True, max_retries=NOTIFICATION_MAX_RETRIES)
def notification_send_task(self, *, notification_id: int) -> str:
    from cases.services.notifications import notification_mark_failed, notification_send
    from core.exceptions import TransientError

    try:
        return notification_send(notification_id=notification_id)
    except TransientError as exc:
        if self.request.retries >= self.max_retries:
            notification_mark_failed(notification_id=notification_id, reason=str(exc))
            return "failed"
        raise self.retry(countdown=_backoff(self.request.retries)) from exc


@shared_task(acks_late=True)
def notifications_sweep_task() -> int:
    from cases.services.notifications import notifications_sweep

    return notifications_sweep()


@shared_task(acks_late=True)
def closed_visit_answers_purge_task() -> int:
    from cases.services.retention import closed_visit_answers_purge

    return closed_visit_answers_purge()
