import random

from celery import shared_task

from core.exceptions import PermanentError, TransientError


@shared_task(bind=True, acks_late=True, max_retries=6)
def case_send_to_mdi_task(self, *, case_id: int) -> None:
    """Send one case to MDI; outages retry with backoff and jitter, then support sees it failed."""
    from cases.gateway import mdi_gateway
    from cases.services import case_send_to_mdi, case_submission_mark_failed

    try:
        case_send_to_mdi(case_id=case_id, gateway=mdi_gateway())
    except PermanentError as exc:
        case_submission_mark_failed(case_id=case_id, reason=f"MDI refused the case: {exc}")
    except TransientError as exc:
        if self.request.retries >= self.max_retries:
            case_submission_mark_failed(
                case_id=case_id, reason=f"MDI unavailable after retries: {exc}"
            )
            return
        countdown = min(3600, 30 * 2**self.request.retries) * random.uniform(0.8, 1.2)  # noqa: S311
        raise self.retry(exc=exc, countdown=countdown) from exc
