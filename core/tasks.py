"""Handing work to the broker from a service, after its transaction commits."""

import logging
from typing import Any

logger = logging.getLogger(__name__)


def task_enqueue(task: Any, **ids: Any) -> bool:
    """Queue one Celery task by ids. A broker outage never reaches the request that asked:
    it is logged (task name and ids only) and the row the task would have worked on stays as
    it is, for its sweeper or support's retry. Call it from `transaction.on_commit`."""
    try:
        task.delay(**ids)
    except Exception:
        logger.warning("could not enqueue %s %s; its row waits for a retry", task.name, ids)
        return False
    return True
