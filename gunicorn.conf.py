"""gunicorn reads this file from the working directory (the Dockerfile's and compose's /app).

Request metrics across workers: each gunicorn worker is a process of its own, so prometheus-
client's multiprocess mode has every worker write its counters and histograms to files in
PROMETHEUS_MULTIPROC_DIR, and /metrics (core.metrics) adds them up whichever worker answers.
"""

import glob
import os
import tempfile

multiproc_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), "thinclinic-prometheus")
)


def on_starting(server):
    # A new start counts from zero (Prometheus reads that as a counter reset): the last run's
    # files would otherwise be added in forever.
    os.makedirs(multiproc_dir, exist_ok=True)
    for path in glob.glob(os.path.join(multiproc_dir, "*.db")):
        os.remove(path)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, multiproc_dir)
