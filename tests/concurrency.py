"""Running the same thing from several threads at the same instant, each on its own database
connection: how the race tests meet two workers, two clicks or two deliveries at once."""

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def at_once(action: Callable[[], T], times: int = 2) -> list[T]:
    """Call `action` from `times` threads released together by a barrier; their results, in
    the order they finished. Each thread closes its own connection when done."""
    barrier = threading.Barrier(times)
    results: list[T] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(action())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
