"""Browser tests: Playwright driving Debian's Chromium (never a downloaded browser)."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# This machine has no network: background services would only make Chromium retry and stall.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
}


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)  # CI installs it; its absence there is a failure, not a skip
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test itself
    # makes (fixtures, assertions) are still synchronous and safe. Only while browsers run.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture(params=["desktop", "phone"])
def page(request: pytest.FixtureRequest, browser: object) -> Iterator[object]:
    context = browser.new_context(**(DESKTOP if request.param == "desktop" else PHONE))
    context.set_default_timeout(10_000)
    tab = context.new_page()
    tab.device_name = request.param
    yield tab
    context.close()


@pytest.fixture
def screenshot() -> object:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: object, name: str) -> Path:
        path = SCREENSHOTS / f"{page.device_name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(autouse=True)
def fake_mdi() -> None:
    """Browser tests use the real client against the embedded sandbox over real HTTP, not the
    suite-wide fake MDI."""
    return None


@pytest.fixture
def task_runner(settings, live_server, tmp_path) -> Iterator[str]:
    """Where the browser tests' background tasks run. With a broker configured (CI: Redis),
    a real `celery worker` process on a Redis database of its own, reading the same test
    database: tasks cross the broker as in production, and a page must wait for them. On the
    embedded default (no broker) they run in-process, as `make run` runs them."""
    if not settings.REDIS_URL:
        yield "in-process"
        return
    import subprocess
    import sys

    from django.db import connection

    from config.celery_app import app

    broker = _own_redis_database(settings.REDIS_URL)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test_worker",
        "REDIS_URL": broker,
        "TEST_WORKER_DATABASE_NAME": db["NAME"],
        "PRIVATE_MEDIA_ROOT": str(settings.PRIVATE_MEDIA_ROOT),
        "MDI_API_BASE_URL": settings.MDI_API_BASE_URL,
        "MDI_SANDBOX_WEBHOOK_URL": settings.MDI_SANDBOX_WEBHOOK_URL,
        "MDI_CLIENT_ID": settings.MDI_CLIENT_ID,
        "MDI_CLIENT_SECRET": settings.MDI_CLIENT_SECRET,
        "MDI_WEBHOOK_SECRET": ",".join(settings.MDI_WEBHOOK_SECRET),
        "MDI_WEBHOOK_AUTHORIZATION": ",".join(settings.MDI_WEBHOOK_AUTHORIZATION),
    }
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "config.celery_app", "worker"),
            # --purge: messages a killed earlier run left in this database are not ours.
            *("--pool=solo", "--purge", "--without-gossip", "--without-mingle"),
            *("--without-heartbeat", "-l", "INFO"),
        ],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    saved = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.broker_url = broker
    _drop_broker_connections(app)
    try:
        _wait_for_worker(worker, log)
        yield "worker"
        # Proof the tasks crossed the broker: the worker, not this process, ran them.
        assert " succeeded in " in log.read_text(), "the worker ran no task"
    finally:
        app.conf.task_always_eager, app.conf.broker_url = saved
        _drop_broker_connections(app)
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()


def _own_redis_database(url: str) -> str:
    """A Redis database beside the suite's (the next one; the one before for the last): the
    worker's queue shares nothing with what uses REDIS_URL, and never database 0, where
    `make run-full` keeps its broker."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{number + 1 if number < 15 else 14}"))


def _drop_broker_connections(app: object) -> None:
    """Celery caches its publishing connections; ones opened for the in-memory broker by
    earlier tests would swallow the messages meant for the worker."""
    from kombu import pools

    pools.reset()  # kombu's process-wide pools, keyed by broker: closed and forgotten
    app._pool = None
    app.amqp._producer_pool = None


def _wait_for_worker(worker: object, log: Path) -> None:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            pytest.fail(f"the Celery worker exited:\n{log.read_text()[-3000:]}")
        if "ready." in log.read_text():
            return
        time.sleep(0.3)
    pytest.fail(f"the Celery worker did not start in 30 s:\n{log.read_text()[-3000:]}")
