"""Webhook intake, processing lag and failure drills, side by side with the machine's floors.

    python benchmarks/load.py                 # everything, 20 s per load, two rounds (~7 min)
    python benchmarks/load.py --quick         # 5 s per load, one round, smaller drills (~4 min)
    python benchmarks/load.py --only ack,storm

Each run starts its own servers on 127.0.0.1 (gunicorn with production settings and 3 sync
workers, two webhook workers, a Celery worker, its own Redis on --redis-port so the Redis drill
can stop it), uses its own PostgreSQL database (--database-url, dropped and created), bounds
every load in count and time, stops what it started and prints one table.

Load generators: `wrk` (Debian's package) for the acknowledgement load and the paced lag load,
replaying pre-signed MDI events from a Lua table (no signing in the loop, so wrk is never the
bottleneck); `pgbench` for the storage floor; Python senders (httpx, threads) for the duplicate
storm and the drills, at rates far below what they can send. Latencies are client-side, over
loopback; event-to-status lag is read from the events' own received and processed times.

Parts (--only): floors, ack, lag, storm, redis, killed, dbconn, pages, intake.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PARTS = ["floors", "ack", "lag", "storm", "redis", "killed", "dbconn", "pages", "intake"]


# --- small helpers ------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def php_json(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":")).replace("/", "\\/").encode()


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return True
        time.sleep(interval)
    return False


@dataclass
class Row:
    part: str
    measure: str
    ours: str
    floor: str = ""
    ratio: str = ""
    target: str = ""
    met: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)

    def add(self, *args: str, **kwargs: str) -> None:
        self.rows.append(Row(*args, **kwargs))
        row = self.rows[-1]
        print(f"  {row.part:8} {row.measure:44} {row.ours:>22} {row.met}", flush=True)

    def print(self) -> None:
        headers = ["part", "measure", "ours", "floor", "ratio", "target", "met"]
        table = [headers] + [
            [r.part, r.measure, r.ours, r.floor, r.ratio, r.target, r.met] for r in self.rows
        ]
        widths = [max(len(str(line[i])) for line in table) for i in range(len(headers))]
        for number, line in enumerate(table):
            print(
                " | ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True))
            )
            if number == 0:
                print("-+-".join("-" * width for width in widths))


# --- the servers this run starts ----------------------------------------------------------


class Stack:
    """Everything the run starts, stopped in reverse order however the run ends."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.workdir = Path(tempfile.mkdtemp(prefix="thinclinic-bench-"))
        self.processes: dict[str, subprocess.Popen] = {}
        self.database_url = args.database_url
        self.redis_url = f"redis://127.0.0.1:{args.redis_port}/0"
        self.base_url = f"http://127.0.0.1:{args.port}"
        self.webhook_secret = secrets.token_hex(24)
        self.webhook_authorization = "Bearer " + secrets.token_hex(24)
        from cryptography.fernet import Fernet

        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            "PYTHONPATH": str(ROOT),
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "MDI_API_BASE_URL": "http://127.0.0.1:9/mdi",  # nothing listens: no preparer runs here
            "MDI_CLIENT_ID": "bench",
            "MDI_CLIENT_SECRET": secrets.token_hex(16),
            "MDI_WEBHOOK_SECRET": self.webhook_secret,
            "MDI_WEBHOOK_AUTHORIZATION": self.webhook_authorization,
            "STRIPE_SECRET_KEY": "sk_test_bench",
            "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(16),
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "SITE_URL": self.base_url,
            "METRICS_TOKEN": secrets.token_hex(16),
            "PROMETHEUS_MULTIPROC_DIR": "",
        }
        self.env.pop("PROMETHEUS_MULTIPROC_DIR")

    # processes
    def _start(self, name: str, command: list[str], **kwargs: object) -> subprocess.Popen:
        log = (self.workdir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **kwargs,  # type: ignore[arg-type]
        )
        self.processes[name] = process
        return process

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def stop_all(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop(name)
        # Keep the processes' logs for a look after the run; the signed events can go.
        (self.workdir / "deliveries.tsv").unlink(missing_ok=True)

    def manage(self, *arguments: str) -> None:
        subprocess.run(
            [str(BIN / "python"), "manage.py", *arguments],
            cwd=ROOT,
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start_redis(self) -> None:
        self._start(
            "redis",
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.args.redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
        )
        port = self.args.redis_port
        assert wait_until(lambda: _redis_ping(port), 10), "redis did not start"

    def reset_database(self) -> None:
        recreate_database(self.database_url)
        self.manage("migrate", "--noinput")

    def start_web(self) -> None:
        self._start(
            "web",
            [
                str(BIN / "gunicorn"),
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.args.port}",
                "--workers",
                "3",
                "--worker-class",
                "sync",
                "--log-level",
                "warning",
            ],
        )
        assert wait_until(lambda: httpx.get(self.base_url + "/healthz").status_code == 200, 30)

    def start_processing(self) -> None:
        """Two webhook worker processes and a Celery worker for what they enqueue."""
        for number in (1, 2):
            self._start(f"webhooks{number}", [str(BIN / "python"), "manage.py", "process_webhooks"])
        self._start(
            "celery",
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "worker",
                "--concurrency",
                "1",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
        )

    def stop_processing(self) -> None:
        for name in ("webhooks1", "webhooks2", "celery"):
            self.stop(name)


def recreate_database(database_url: str) -> None:
    """Drop (closing its connections) and create the database the URL names."""
    name = database_url.rsplit("/", 1)[1]
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    for statement in (
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}"',
    ):
        subprocess.run(["psql", admin, "-q", "-c", statement], check=True)


def _redis_ping(port: int) -> bool:
    result = subprocess.run(
        ["redis-cli", "-p", str(port), "ping"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() == "PONG"


# --- Django in this process (setting up cases, reading results) ---------------------------


def django_setup(stack: Stack) -> None:
    os.environ.update(stack.env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    from django.conf import settings

    # The benchmark's own patients never sign in with a password; Argon2 (about 0.1 s a hash,
    # on purpose) would make setting up two thousand visits the slowest part of the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_cases(count: int) -> list[tuple[str, str]]:
    """Submitted visits with an authorised sandbox hold: (MDI case id, our public id)."""
    from tests.cases.factories import CaseFactory

    prefix = secrets.token_hex(4)
    cases = [CaseFactory(mdi_case_id=f"bench-{prefix}-{n}") for n in range(count)]
    return [(case.mdi_case_id, str(case.public_id)) for case in cases]


# --- signed MDI events ---------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    body: bytes
    signature: str


def sign(stack: Stack, payload: dict) -> Delivery:
    body = php_json(payload)
    digest = hmac.new(stack.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    return Delivery(body, digest)


def post(client: httpx.Client, stack: Stack, delivery: Delivery) -> tuple[int, float]:
    headers = {
        "Content-Type": "application/json",
        "Authorization": stack.webhook_authorization,
        "Signature": delivery.signature,
    }
    start = time.perf_counter()
    try:
        status = client.post(
            stack.base_url + "/webhooks/mdi/", content=delivery.body, headers=headers
        ).status_code
    except httpx.HTTPError:
        status = 0
    return status, time.perf_counter() - start


@dataclass
class SendResult:
    latencies: list[float] = field(default_factory=list)
    answered_at: list[float] = field(default_factory=list)  # epoch seconds, one per latency
    failures: dict[int, int] = field(default_factory=dict)


def send_paced(
    stack: Stack,
    deliveries: list[Delivery],
    rate: float,
    senders: int = 16,
    max_seconds: float = 600,
) -> SendResult:
    """Send at `rate` deliveries/s in order (each delivery's slot is fixed in advance), from
    `senders` threads; a slow answer delays only its own thread."""
    result = SendResult()
    lock = threading.Lock()
    start = time.monotonic() + 0.2
    indices = iter(range(len(deliveries)))

    def sender() -> None:
        with httpx.Client(timeout=10) as client:
            while True:
                with lock:
                    i = next(indices, None)
                if i is None:
                    return
                slot = start + i / rate
                if slot - start > max_seconds:
                    return
                delay = slot - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                status, elapsed = post(client, stack, deliveries[i])
                with lock:
                    if status == 200:
                        result.latencies.append(elapsed)
                        result.answered_at.append(time.time())
                    else:
                        result.failures[status] = result.failures.get(status, 0) + 1

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


def wrk_replay(
    stack: Stack, deliveries: list[Delivery], path: str, seconds: int, delay_ms: int = 0
) -> dict:
    """wrk with 16 connections on 2 threads; each thread replays its own share of the signed
    deliveries (distinct events unless the load outruns the list). With `delay_ms`, each
    connection waits that long after each answer: a paced load from a generator in C."""
    data = stack.workdir / "deliveries.tsv"
    with data.open("wb") as out:
        for delivery in deliveries:
            out.write(delivery.signature.encode() + b"\t" + delivery.body + b"\n")
    script = stack.workdir / "replay.lua"
    script.write_text(
        _WRK_REPLAY.replace("@DATA@", str(data))
        .replace("@AUTH@", stack.webhook_authorization)
        .replace("@PATH@", path)
        + (f"\nfunction delay() return {delay_ms} end\n" if delay_ms else "")
    )
    return _wrk(stack, path, seconds, script)


def wrk_get(stack: Stack, path: str, seconds: int) -> dict:
    script = stack.workdir / "get.lua"
    script.write_text(_WRK_DONE)
    return _wrk(stack, path, seconds, script)


def _wrk(stack: Stack, path: str, seconds: int, script: Path) -> dict:
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            "-c16",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            stack.base_url + path,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"^JSON (\{.*\})$", output, re.MULTILINE)
    assert match, output
    result = json.loads(match.group(1))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


_WRK_DONE = """
function done(summary, latency, requests)
  io.write(string.format('JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"non2xx":%d,"errors":%d}\\n', summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), summary.errors.status, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
"""

_WRK_REPLAY = (
    """
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
function init(args)
  reqs, n, i = {}, 0, 0
  for line in io.lines("@DATA@") do
    if i % 2 == tid then
      local signature, body = line:match("([^\\t]+)\\t(.*)")
      n = n + 1
      reqs[n] = wrk.format("POST", "@PATH@", {["Content-Type"] = "application/json",
        ["Authorization"] = "@AUTH@", ["Signature"] = signature}, body)
    end
    i = i + 1
  end
  next_request = 0
end
function request()
  next_request = next_request % n + 1
  return reqs[next_request]
end
"""
    + _WRK_DONE
)


def pgbench_insert(stack: Stack, seconds: int) -> dict:
    """The storage floor: one single-row INSERT per transaction, 16 clients."""
    script = stack.workdir / "insert.sql"
    script.write_text("INSERT INTO bench_floor (payload) VALUES ('x');\n")
    psql = ["psql", stack.database_url, "-q", "-c"]
    subprocess.run(
        [
            *psql,
            "CREATE TABLE IF NOT EXISTS bench_floor (id bigserial primary key, payload text, at timestamptz default now())",
        ],
        check=True,
    )
    output = subprocess.run(
        ["pgbench", "-n", "-c16", "-j2", f"-T{seconds}", "-f", str(script), stack.database_url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    subprocess.run([*psql, "DROP TABLE bench_floor"], check=True)
    tps = float(re.search(r"tps = ([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency = float(re.search(r"latency average = ([\d.]+) ms", output).group(1))  # type: ignore[union-attr]
    return {"rps": tps, "avg_ms": latency}


# --- the parts -----------------------------------------------------------------------------


def distinct_ack_deliveries(stack: Stack, count: int) -> list[Delivery]:
    run = secrets.token_hex(4)
    return [
        sign(
            stack,
            {
                "event_type": "case_assigned_to_clinician",
                "timestamp": 1_700_000_000 + n,
                "case_id": f"ack-{run}-{n}",
                "metadata": "",
            },
        )
        for n in range(count)
    ]


def part_floors_and_ack(stack: Stack, report: Report, seconds: int, rounds: int) -> None:
    """Alternate framework floor, storage floor and our webhook, `rounds` times; report means."""
    framework, storage, ours = [], [], []
    for _ in range(rounds):
        framework.append(wrk_get(stack, "/healthz", seconds))
        storage.append(pgbench_insert(stack, seconds))
        ours.append(
            wrk_replay(
                stack, distinct_ack_deliveries(stack, 4000 * seconds), "/webhooks/mdi/", seconds
            )
        )

    def mean(values: list[dict], key: str) -> float:
        return sum(v[key] for v in values) / len(values)

    fw, st, us = mean(framework, "rps"), mean(storage, "rps"), mean(ours, "rps")
    fw_ratio, st_ratio = us / fw, us / st
    p99 = max(o["p99_us"] for o in ours) / 1000
    failures = sum(o["non2xx"] + o["errors"] for o in ours)
    report.add(
        "floors",
        "framework: GET /healthz, 16 conns (req/s)",
        f"{fw:,.0f}",
        floor=f"p50 {mean(framework, 'p50_us') / 1000:.1f} ms, p99 {max(f['p99_us'] for f in framework) / 1000:.1f} ms",
    )
    report.add(
        "floors",
        "storage: pgbench 1-row INSERT, 16 clients (TPS)",
        f"{st:,.0f}",
        floor=f"avg {mean(storage, 'avg_ms'):.2f} ms",
    )
    report.add(
        "ack",
        "POST /webhooks/mdi/, distinct signed (req/s)",
        f"{us:,.0f}",
        floor=f"{fw:,.0f} / {st:,.0f}",
        ratio=f"{fw_ratio:.2f}x fw, {st_ratio:.3f}x st",
        target=">=0.4x fw, >=0.15x st",
        met=_met(fw_ratio >= 0.4 and st_ratio >= 0.15),
    )
    report.add(
        "ack",
        "  latency p50 / p99",
        f"{mean(ours, 'p50_us') / 1000:.1f} / {p99:.1f} ms",
        target="p99 < 20 ms",
        met=_met(p99 < 20),
    )
    report.add(
        "ack",
        "  non-200 answers and socket errors",
        str(failures),
        target="0",
        met=_met(failures == 0),
    )


def _met(ok: bool) -> str:
    return "yes" if ok else "NO"


def event_lags(received_after: float) -> tuple[list[float], int, int]:
    """(processed_at - received_at) for events received since `received_after` (epoch s),
    and how many are still waiting and how many failed."""
    import datetime

    from webhooks.models import EventStatus, WebhookEvent

    since = datetime.datetime.fromtimestamp(received_after, tz=datetime.UTC)
    events = WebhookEvent.objects.filter(received_at__gte=since, event_key__isnull=False)
    lags = [
        (processed - received).total_seconds()
        for received, processed in events.exclude(processed_at=None).values_list(
            "received_at", "processed_at"
        )
    ]
    waiting = events.filter(status=EventStatus.RECEIVED).count()
    failed = events.filter(status=EventStatus.FAILED).count()
    return lags, waiting, failed


def lifecycle_deliveries(
    stack: Stack, cases: list[tuple[str, str]], per_case: list[str]
) -> list[Delivery]:
    """Each case's events in order, interleaved across cases, every one delivered twice (the
    copy a little later, as MDI's retries arrive)."""
    deliveries: list[Delivery] = []
    base = int(time.time())
    for step, event_type in enumerate(per_case):
        for mdi_id, public_id in cases:
            deliveries.append(
                sign(
                    stack,
                    {
                        "event_type": event_type,
                        "timestamp": base + step,
                        "case_id": mdi_id,
                        "metadata": public_id,
                    },
                )
            )
    doubled: list[Delivery] = []
    for n, delivery in enumerate(deliveries):
        doubled.append(delivery)
        if n >= 20:
            doubled.append(deliveries[n - 20])
    doubled.extend(deliveries[-20:])
    return doubled


def set_aside_ack_events(stack: Stack) -> None:
    """The acknowledgement load's events name no stored case; resolve them (and empty the
    private broker) so the workers spend the later parts on the later parts' events."""
    from webhooks.models import EventStatus, WebhookEvent

    time.sleep(2)  # requests still in flight when wrk stopped
    WebhookEvent.objects.filter(status=EventStatus.RECEIVED).update(
        status=EventStatus.RESOLVED, outcome_note="benchmark: acknowledgement load only"
    )
    subprocess.run(
        ["redis-cli", "-p", str(stack.args.redis_port), "flushall"], check=True, capture_output=True
    )


def part_lag(stack: Stack, report: Report, rate: int, seconds: int) -> None:
    """`rate` deliveries/s for `seconds` (each event twice: half are duplicates), paced by
    wrk so the generator costs almost nothing; lag read from the events' own timestamps."""
    steps = ["case_assigned_to_clinician", "case_approved", "case_completed"]
    distinct = rate * seconds // 2
    cases = make_cases(distinct // len(steps))
    deliveries = lifecycle_deliveries(stack, cases, steps)
    started = time.time()
    # 16 connections, each sending again `delay` after its answer: 16 / (delay + latency)/s.
    delay_ms = max(1, round(16_000 / rate) - 5)
    sent = wrk_replay(stack, deliveries, "/webhooks/mdi/", seconds, delay_ms=delay_ms)
    wait_until(lambda: event_lags(started)[1] == 0, 60)
    lags, waiting, failed = event_lags(started)
    p95, p99 = percentile(lags, 95), percentile(lags, 99)
    report.add(
        "lag",
        f"paced deliveries, each event twice, for {seconds} s",
        f"{sent['rps']:.0f}/s ({len(lags)} events)",
        target=f"{rate}/s",
    )
    report.add(
        "lag",
        "  event -> status committed p50 / p95 / p99",
        f"{ms(percentile(lags, 50))} / {ms(p95)} / {ms(p99)}",
        target="p95 < 1 s, p99 < 2 s",
        met=_met(p95 < 1 and p99 < 2 and not waiting),
    )
    report.add(
        "lag",
        "  ack p99; non-200; left waiting; failed",
        f"{sent['p99_us'] / 1000:.1f} ms; {sent['non2xx'] + sent['errors']}; {waiting}; {failed}",
    )


def part_storm(stack: Stack, report: Report, events: int, copies: int) -> None:
    """`events` approvals, each delivered `copies` times, shuffled, 16 senders flat out."""
    from cases.models import Case, CaseStatus, Notification
    from payments.models import Payment

    cases = make_cases(events)
    base = int(time.time())
    distinct = [
        sign(
            stack,
            {
                "event_type": "case_approved",
                "timestamp": base,
                "case_id": mdi_id,
                "metadata": public_id,
            },
        )
        for mdi_id, public_id in cases
    ]
    deliveries = distinct * copies
    random.Random(7).shuffle(deliveries)
    case_ids = [mdi_id for mdi_id, _ in cases]
    notifications_before = Notification.objects.count()
    started = time.time()
    sent = send_paced(stack, deliveries, rate=100_000, max_seconds=300)
    wall = time.time() - started
    wait_until(lambda: event_lags(started)[1] == 0, 120)
    lags, waiting, failed = event_lags(started)
    approved = Case.objects.filter(mdi_case_id__in=case_ids, status=CaseStatus.APPROVED).count()
    payment_ids = Case.objects.filter(mdi_case_id__in=case_ids).values("payment_id")
    captures = Payment.objects.filter(
        pk__in=payment_ids, capture_requested_at__isnull=False
    ).count()
    notifications = Notification.objects.count() - notifications_before
    exact = approved == captures == notifications == events and len(lags) == events
    report.add(
        "storm",
        f"{len(deliveries)} deliveries of {events} approvals, shuffled",
        f"{len(deliveries) / wall:.0f}/s, {sum(sent.failures.values())} failed",
    )
    report.add(
        "storm",
        "  events applied / approved / captures / notifications",
        f"{len(lags)} / {approved} / {captures} / {notifications}",
        target=f"all {events}",
        met=_met(exact and not failed and not waiting),
    )
    report.add(
        "storm",
        "  event -> status p95 / p99",
        f"{ms(percentile(lags, 95))} / {ms(percentile(lags, 99))}",
    )


def part_redis_down(stack: Stack, report: Report, outage: float) -> None:
    """Steady 100 deliveries/s; Redis stops for `outage` seconds in the middle. Measures the
    acknowledgements during the outage, the webhook backlog when Redis returns and how long
    it takes to drain."""
    from webhooks.models import EventStatus, WebhookEvent

    cases = make_cases(int(100 * (outage + 10)) // 2)
    deliveries = lifecycle_deliveries(stack, cases, ["case_assigned_to_clinician", "case_approved"])
    started = time.time()
    window: dict[str, float] = {}

    def waiting_received_before(moment: float) -> int:
        import datetime

        before = datetime.datetime.fromtimestamp(moment, tz=datetime.UTC)
        since = datetime.datetime.fromtimestamp(started, tz=datetime.UTC)
        return WebhookEvent.objects.filter(
            status=EventStatus.RECEIVED, received_at__gte=since, received_at__lte=before
        ).count()

    def outage_drill() -> None:
        from django.db import connection

        time.sleep(3)
        window["down"] = time.time()
        stack.stop("redis")
        time.sleep(outage)
        stack.start_redis()
        window["up"] = time.time()
        window["backlog"] = waiting_received_before(window["up"])
        wait_until(lambda: waiting_received_before(window["up"]) == 0, 60, interval=0.05)
        window["drained"] = time.time()
        connection.close()

    drill = threading.Thread(target=outage_drill)
    drill.start()
    sent = send_paced(stack, deliveries, rate=100, max_seconds=outage + 8)
    drill.join()
    during = [
        latency
        for latency, at in zip(sent.latencies, sent.answered_at, strict=True)
        if window["down"] <= at <= window["up"]
    ]
    p99 = percentile(during, 99)
    lags, _waiting, failed = event_lags(started)
    report.add(
        "redis",
        f"Redis stopped {outage:.0f} s, 100 deliveries/s: ack p99 during",
        f"{ms(p99)} ({len(during)} answered, {sum(sent.failures.values())} failed)",
        target="< 50 ms, no failures",
        met=_met(p99 < 0.05 and not sent.failures),
    )
    drain = window["drained"] - window["up"]
    report.add(
        "redis",
        "  webhook backlog when Redis returned; drained in",
        f"{window['backlog']} events; {drain:.1f} s (max lag {max(lags or [0]):.1f} s)",
        target="< 10 s",
        met=_met(drain < 10 and not failed),
    )


def part_killed_worker(stack: Stack, report: Report) -> None:
    """SIGKILL one webhook worker while it holds claimed events; the other must pick them up."""
    from webhooks.models import WebhookEvent

    cases = make_cases(600)
    deliveries = lifecycle_deliveries(stack, cases, ["case_assigned_to_clinician", "case_approved"])
    started = time.time()
    killed_at: dict[str, float] = {}

    def kill_one() -> None:
        time.sleep(3)
        process = stack.processes["webhooks1"]
        os.killpg(process.pid, signal.SIGKILL)
        killed_at["at"] = time.time()

    killer = threading.Thread(target=kill_one)
    killer.start()
    send_paced(stack, deliveries, rate=200, max_seconds=15)
    killer.join()
    drained = wait_until(lambda: event_lags(started)[1] == 0, 90)
    lags, waiting, _failed = event_lags(started)
    orphaned = [lag for lag in lags if lag > 2]
    worst = max(lags or [0])
    report.add(
        "killed",
        "worker SIGKILLed under 200 deliveries/s: events left",
        str(waiting),
        target="0",
        met=_met(drained and not waiting),
    )
    report.add(
        "killed",
        "  its events processed again after (max lag)",
        f"{worst:.1f} s ({len(orphaned)} events > 2 s)",
        target="< 30 s",
        met=_met(worst < 30),
    )
    del WebhookEvent
    stack._start("webhooks1", [str(BIN / "python"), "manage.py", "process_webhooks"])


def part_dead_connections(stack: Stack, report: Report) -> None:
    """Terminate every server-side connection of the app's database under load."""
    cases = make_cases(300)
    deliveries = lifecycle_deliveries(stack, cases, ["case_assigned_to_clinician", "case_approved"])
    name = stack.database_url.rsplit("/", 1)[1]
    terminate = (
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    )
    killed: list[str] = []

    def kill_connections() -> None:
        for _ in range(3):
            time.sleep(2)
            result = subprocess.run(
                ["psql", stack.database_url, "-tAc", terminate],
                capture_output=True,
                text=True,
                check=False,
            )
            killed.append(result.stdout.strip())

    started = time.time()
    thread = threading.Thread(target=kill_connections)
    thread.start()
    sent = send_paced(stack, deliveries, rate=100, max_seconds=10)
    thread.join()
    from django.db import connection

    connection.close()  # this process's own connection was among those terminated
    drained = wait_until(lambda: event_lags(started)[1] == 0, 60)
    errors = sum(sent.failures.values())
    report.add(
        "dbconn",
        "all DB connections killed 3x under load: non-200",
        f"{errors} of {len(deliveries)} (killed {'+'.join(killed)})",
        target="0",
        met=_met(errors == 0 and drained),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/thinclinic_bench"
    )
    parser.add_argument("--redis-port", type=int, default=6391)
    parser.add_argument("--port", type=int, default=8620)
    parser.add_argument("--seconds", type=int, default=20, help="duration of each wrk load")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="5 s loads, one round, smaller drills")
    parser.add_argument("--only", default=",".join(PARTS))
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds = 5, 1
    parts = args.only.split(",")
    if unknown := set(parts) - set(PARTS):
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    for tool in ("wrk", "pgbench", "redis-server", "psql"):
        if shutil.which(tool) is None:
            parser.error(
                f"{tool} is not installed (apt-get install -y wrk postgresql-client redis-server)"
            )

    stack = Stack(args)
    report = Report()
    started = time.time()
    try:
        stack.start_redis()
        stack.reset_database()
        stack.start_web()
        django_setup(stack)
        print(f"servers up in {time.time() - started:.0f} s; measuring (logs in {stack.workdir})")
        if "floors" in parts or "ack" in parts:
            part_floors_and_ack(stack, report, args.seconds, args.rounds)
        set_aside_ack_events(stack)
        stack.start_processing()
        if "lag" in parts:
            part_lag(stack, report, rate=200, seconds=15 if args.quick else 60)
        if "storm" in parts:
            part_storm(stack, report, events=200 if args.quick else 1000, copies=10)
        if "redis" in parts:
            part_redis_down(stack, report, outage=20)
        if "killed" in parts:
            part_killed_worker(stack, report)
        if "dbconn" in parts:
            part_dead_connections(stack, report)
    finally:
        stack.stop_all()
    if "pages" in parts or "intake" in parts:
        part_pages_and_intake(report, args, parts)
    print(
        f"\nthinclinic load benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
        f"{time.time() - started:.0f} s; generators: wrk (ack, lag), pgbench (storage), httpx threads (storm, drills)\n"
    )
    report.print()
    return 0 if all(row.met != "NO" for row in report.rows) else 1


def part_pages_and_intake(report: Report, args: argparse.Namespace, parts: list[str]) -> None:
    """benchmarks/pages.py in its own process (its own gunicorn, database and settings): the
    patient pages at 1 / 100 / 1000 history entries and the 50-patient intake burst."""
    database_url = args.database_url + "_pages"
    recreate_database(database_url)
    out = Path(tempfile.mkdtemp(prefix="thinclinic-pages-")) / "pages.json"
    command = [str(BIN / "python"), "benchmarks/pages.py", "--database-url", database_url, "--port",
               str(args.port + 1), "--json", str(out)]  # fmt: skip
    if "intake" not in parts:
        command.append("--skip-burst")
    if args.quick:
        command += ["--requests", "60", "--patients", "20"]
    print("running", " ".join(command[1:]), flush=True)
    subprocess.run(command, cwd=ROOT, check=False)
    if not out.exists():
        report.add("pages", "benchmarks/pages.py did not finish", "see its output above", met="NO")
        return
    result = json.loads(out.read_text())
    queries: dict[str, set] = {}
    for row in result["pages"]:
        queries.setdefault(row["page"], set()).add(row["queries"])
        ok = row["p95_ms"] <= row["target_ms"] and not row["errors"]
        report.add(
            "pages",
            f"{row['page']} (history {row['history']}): p50 / p95 over HTTP",
            f"{row['p50_ms']:.1f} / {row['p95_ms']:.1f} ms, {row['queries']} queries",
            floor=f"in-process p95 {row.get('in_process_p95_ms') or float('nan'):.1f} ms",
            target=f"p95 < {row['target_ms']:.0f} ms",
            met=_met(ok),
        )
    flat = all(len(counts) == 1 for page, counts in queries.items() if page != "intake step")
    report.add(
        "pages", "  query count flat in history length", str(flat), target="True", met=_met(flat)
    )
    burst = result.get("burst")
    if burst:
        report.add(
            "intake",
            f"{burst['patients']} patients completing the intake at once",
            f"{burst['completed']} done, {burst['errors']} errors, "
            f"{burst['completions_per_s']:.2f}/s",
            target="0 errors",
            met=_met(not burst["errors"] and burst["completed"] == burst["patients"]),
        )


if __name__ == "__main__":
    sys.exit(main())
