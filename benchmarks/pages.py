"""Patient pages under load: server time per page and history size, and a burst of intakes.

    python benchmarks/pages.py --database-url postgres://postgres@127.0.0.1:5432/thinclinic_bench

One command, no servers needed beforehand. It:

1. prepares the database named by --database-url (migrate, the demo questionnaire and offering,
   patients whose visits have 1, 100 and 1 000 timeline events and messages, a patient with an
   intake at review, and --patients accounts ready to start an intake: email verified,
   eligible, identity and photo ID done). The database must exist; rows are added, not reset;
2. starts its own gunicorn (production settings, 3 sync workers) on 127.0.0.1:--port, with
   throwaway secrets, SSL redirect off (no TLS on loopback) and uploads in a temporary folder;
3. pages: each patient signs in over HTTP, then --clients clients GET each page (dashboard,
   visit, visit status, intake step, intake review) --requests times, or until
   --max-seconds; prints page | history | queries | p50 ms | p95 ms | target;
4. intake burst: --patients threads, each its own HTTP client and account, sign in and
   complete the demo intake (four steps with the scalp photo upload, review, submit) up to
   intake completion. Checkout is not included: production settings allow only Stripe, which a
   loopback benchmark cannot reach. Prints completions/s, errors and p50/p95 per step;
5. stops the gunicorn it started (also on Ctrl-C or an error).

Times are client-side latency on loopback (request sent to response read), which includes
gunicorn's own overhead and any wait for a free worker or CPU; "queries" is counted in-process
with CaptureQueriesContext, on the same database, for the same patient and page, and
"in-proc" times that page handled in this process one request at a time (no HTTP, no
queueing). The machine's load average is printed before and after: on a shared machine the
HTTP times include waiting for a CPU. Exit status 1 if any request failed or any p95 is over
the target. Only loopback addresses are accepted.

Another benchmark can call run_pages(base_url, targets) and run_intake_burst(base_url,
accounts) against a server it started; prepare(...) makes the targets and accounts (it needs
Django set up: django_configure(bench_env(...)) first).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import io
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parent.parent
TARGET_P95_MS = 50.0
PASSWORD = "bench-pages-correct-horse-staple"  # noqa: S105 - throwaway benchmark accounts
HISTORY_SIZES = (1, 100, 1000)
IN_PROCESS_REQUESTS = 30
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


# --- environment and server ----------------------------------------------------------------


def bench_env(*, database_url: str, redis_url: str, port: int, media_root: str) -> dict:
    """What production settings need, with throwaway values: nothing here is a real secret.
    The keys are fixed (derived from a public string) so a later run on the same benchmark
    database can still read what an earlier run encrypted."""
    field_key = base64.urlsafe_b64encode(hashlib.sha256(b"thinclinic bench pages").digest())
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "bench-pages-not-a-secret-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "FIELD_ENCRYPTION_KEYS": field_key.decode(),
        "MDI_API_BASE_URL": "http://127.0.0.1:9/unused",
        "MDI_CLIENT_ID": "bench",
        "MDI_CLIENT_SECRET": "bench",
        "MDI_WEBHOOK_SECRET": "bench",
        "MDI_WEBHOOK_AUTHORIZATION": "bench",
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_WEBHOOK_SECRET": "whsec_bench",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "PRIVATE_MEDIA_ROOT": media_root,
        "SITE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
        "PROXY_COUNT": "1",
    }


def django_configure(env: dict) -> None:
    """Set up Django in this process with the server's settings (same database, same keys)."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


@contextlib.contextmanager
def gunicorn(*, env: dict, port: int, workers: int = 3, start_seconds: float = 30) -> Iterator[str]:
    """Start gunicorn on 127.0.0.1:port and yield its base URL; always stopped on the way out."""
    base_url = f"http://127.0.0.1:{port}"
    binary = Path(sys.executable).with_name("gunicorn")
    command = [str(binary), "config.wsgi", "--workers", str(workers), "--worker-class", "sync"]
    command += ["--bind", f"127.0.0.1:{port}", "--timeout", "60", "--log-level", "warning"]
    with tempfile.NamedTemporaryFile(
        prefix="bench-pages-gunicorn-", suffix=".log", delete=False
    ) as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        failed = True  # the log is kept, and named, only when something went wrong
        try:
            deadline = time.monotonic() + start_seconds
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"gunicorn exited with {process.returncode}; see {log.name}")
                try:
                    if httpx.get(f"{base_url}/healthz", timeout=2).status_code < 500:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"gunicorn did not answer in {start_seconds} s; see {log.name}"
                    )
                time.sleep(0.3)
            yield base_url
            failed = False
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    if not failed:
        Path(log.name).unlink(missing_ok=True)


# --- data ----------------------------------------------------------------------------------


def _photo(name: str = "scalp.jpg"):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (100, 80, 60)).save(out, format="JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def _jpeg_bytes() -> bytes:
    return _photo().read()


def _patient(email: str, password_hash: str):
    """A patient who has done everything before the intake: verified, eligible, identified,
    photo ID uploaded."""
    from django.utils import timezone

    from accounts.models import User
    from patients.services import identity_document_upload
    from tests.patients.factories import PatientFactory

    user = User.objects.create(
        email=email, password=password_hash, email_verified_at=timezone.now()
    )
    patient = PatientFactory(identified=True, user=user)
    identity_document_upload(patient=patient, uploaded=_photo("license.jpg"))
    return patient


# What a patient answers on each demo step (every optional answer filled), as the form posts it.
STEPS = [
    (
        "about-hair-loss",
        {
            "hair-loss-duration": ["1-5-years"],
            "hair-loss-pattern": ["crown"],
            "family-history": ["true"],
            "sudden-onset": ["false"],
            "tried-treatments": ["minoxidil", "biotin"],
        },
    ),
    (
        "your-health",
        {
            "pregnancy": ["false"],
            "conditions": ["none"],
            "systolic-pressure": ["120"],
            "weight-kg": ["80"],
            "last-checkup": ["2024-01-01"],
        },
    ),
    (
        "medications",
        {
            "takes-medications": ["true"],
            "medication-list": ["vitamin D"],
            "has-allergies": ["false"],
        },
    ),
    (
        "photos-and-goals",
        {
            "treatment-preference": ["both"],
            "attestation": ["confirmed"],
            "questions-for-clinician": ["How long until I see a change?"],
        },
    ),
]


def prepare(*, patients: int = 50, run_tag: str | None = None) -> tuple[list[dict], list[tuple]]:
    """Migrate and seed the configured database; return the page targets (each with its
    query count, measured in-process) and the intake burst's (email, password) accounts."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    import cases.demo
    import intake.demo
    from intake.models import QuestionnaireResponse
    from intake.selectors import questionnaire_version_published
    from intake.services import questionnaire_response_save_step, questionnaire_response_start
    from intake.structure import version_structure_load
    from tests.cases.factories import CaseFactory
    from tests.cases.history import history_add

    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)
    quiet = io.StringIO()
    intake.demo.seed(stdout=quiet)
    cases.demo.seed(stdout=quiet)
    tag = run_tag or str(int(time.time()))
    password_hash = make_password(PASSWORD)  # once: the hasher is slow on purpose

    version = questionnaire_version_published(slug="hair-loss")
    structure = version_structure_load(version=version)
    targets: list[dict] = []
    for size in HISTORY_SIZES:
        patient = _patient(f"bench-pages-{tag}-h{size}@example.com", password_hash)
        case = CaseFactory(  # explicit ids: the factories' sequences restart with each run
            patient=patient,
            mdi_case_id=f"bench-pages-{tag}-{size}",
            payment__intake_response__version=version,
            payment__gateway_payment_id=f"pi_bench_{tag}_{size}",
            payment__checkout_session_id=f"cs_bench_{tag}_{size}",
        )
        history_add(case=case, count=size)
        for page, path in [
            ("dashboard", reverse("cases:dashboard")),
            ("visit", reverse("cases:detail", args=[case.public_id])),
            ("visit status", reverse("cases:detail_status", args=[case.public_id])),
        ]:
            targets.append(
                {"page": page, "history": size, "path": path, "email": patient.user.email}
            )

    patient = _patient(f"bench-pages-{tag}-intake@example.com", password_hash)
    response = questionnaire_response_start(patient=patient, version=version)
    for link_id, raw in STEPS:
        files = {"scalp-photo": _photo()} if link_id == "photos-and-goals" else None
        outcome = questionnaire_response_save_step(
            response=response, structure=structure, step_link_id=link_id, raw=raw, files=files
        )
        if not outcome.result.is_valid:
            raise RuntimeError(f"the demo answers no longer pass: {outcome.result.errors}")
    answered = len(QuestionnaireResponse.objects.get(pk=response.pk).answers)  # "history"
    for page, path in [
        ("intake step", reverse("intake:step", args=[response.public_id, 1])),
        ("intake review", reverse("intake:review", args=[response.public_id])),
    ]:
        targets.append(
            {"page": page, "history": answered, "path": path, "email": patient.user.email}
        )

    from accounts.models import User

    client = Client(HTTP_HOST="127.0.0.1")
    for target in targets:
        client.force_login(User.objects.get(email=target["email"]))
        client.get(target["path"])  # warm, as the server's workers are
        with CaptureQueriesContext(connection) as captured:
            status = client.get(target["path"]).status_code
        if status != 200:
            raise RuntimeError(f"{target['path']} answered {status} in-process")
        target["queries"] = len(captured.captured_queries)
        handled = []  # the app alone: no sockets, no gunicorn, no other client waiting
        for _ in range(IN_PROCESS_REQUESTS):
            start = time.perf_counter()
            client.get(target["path"])
            handled.append((time.perf_counter() - start) * 1000)
        target["in_process_p50_ms"] = statistics.median(handled)
        target["in_process_p95_ms"] = _percentile(handled, 0.95)

    return targets, prepare_burst_accounts(patients, tag=tag)


# --- HTTP ----------------------------------------------------------------------------------


def _client(base_url: str) -> httpx.Client:
    """A client that keeps its cookies. Production cookies are Secure and a plain-HTTP
    loopback client would never send them back, so each one is unmarked as it arrives."""
    client = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)

    def keep_cookies(response: httpx.Response) -> None:  # runs after httpx stored them
        for cookie in client.cookies.jar:
            cookie.secure = False

    client.event_hooks["response"] = [keep_cookies]
    return client


def _check_loopback(base_url: str) -> None:
    host = urlparse(base_url).hostname or ""
    if not (host.startswith("127.") or host in {"localhost", "::1"}):
        raise ValueError(f"refusing to load a non-loopback address: {host}")


def _csrf(html: str) -> str:
    match = _CSRF.search(html)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1)


def sign_in(client: httpx.Client, email: str, password: str) -> None:
    page = client.get("/accounts/login/")
    response = client.post(
        "/accounts/login/",
        data={"csrfmiddlewaretoken": _csrf(page.text), "username": email, "password": password},
    )
    if response.status_code != 302 or "/accounts/login" in response.headers.get("location", ""):
        raise RuntimeError(f"sign-in of {email} failed: {response.status_code}")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


def _measure(
    sessions: list[httpx.Client], path: str, requests: int, max_seconds: float
) -> tuple[list[float], dict[int, int]]:
    """GET path `requests` times spread over the clients (one thread each), within max_seconds:
    latencies in ms of the 200s, and the count of every other status (0: no answer)."""
    remaining = iter(range(requests))
    lock = threading.Lock()
    latencies: list[float] = []
    errors: dict[int, int] = {}
    deadline = time.monotonic() + max_seconds

    def worker(client: httpx.Client) -> None:
        while time.monotonic() < deadline:
            with lock:
                if next(remaining, None) is None:
                    return
            start = time.perf_counter()
            try:
                status = client.get(path).status_code
            except httpx.HTTPError:
                status = 0
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                if status == 200:
                    latencies.append(elapsed)
                else:
                    errors[status] = errors.get(status, 0) + 1

    threads = [threading.Thread(target=worker, args=(client,)) for client in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def run_pages(
    base_url: str,
    targets: list[dict],
    *,
    requests: int = 200,
    clients: int = 3,
    max_seconds: float = 20.0,
    password: str = PASSWORD,
) -> list[dict]:
    """GET each target's page `requests` times from `clients` concurrent signed-in clients
    (or until max_seconds per page); one row per target with p50/p95 in ms and errors."""
    _check_loopback(base_url)
    rows = []
    for target in targets:
        with contextlib.ExitStack() as stack:
            sessions = [stack.enter_context(_client(base_url)) for _ in range(clients)]
            for client in sessions:
                sign_in(client, target["email"], password)
                client.get(target["path"])  # warm this worker's connection and caches
            latencies, errors = _measure(sessions, target["path"], requests, max_seconds)
        rows.append(
            {
                "page": target["page"],
                "history": target["history"],
                "queries": target.get("queries"),
                "requests": len(latencies),
                "errors": sum(errors.values()),
                "p50_ms": statistics.median(latencies) if latencies else 0.0,
                "p95_ms": _percentile(latencies, 0.95),
                "in_process_p50_ms": target.get("in_process_p50_ms"),
                "in_process_p95_ms": target.get("in_process_p95_ms"),
                "target_ms": TARGET_P95_MS,
            }
        )
    return rows


def _complete_intake(
    base_url: str, email: str, password: str, deadline: float, steps: dict[str, list[float]]
) -> None:
    """One patient, signed in over HTTP, from the intake's start to its completion page."""

    def timed(label: str, call):
        start = time.perf_counter()
        response = call()
        steps.setdefault(label, []).append((time.perf_counter() - start) * 1000)
        if time.monotonic() > deadline:
            raise TimeoutError("the burst ran out of time")
        return response

    photo = _jpeg_bytes()
    with _client(base_url) as client:
        timed("sign in", lambda: sign_in(client, email, password))
        response = timed("start", lambda: client.get("/intake/start/"))
        location = response.headers.get("location", "")
        if response.status_code != 302 or "/step/1/" not in location:
            raise RuntimeError(f"intake start answered {response.status_code} {location}")
        for number, (_link_id, raw) in enumerate(STEPS, start=1):
            page = timed(f"step {number} GET", lambda url=location: client.get(url))
            if page.status_code != 200:
                raise RuntimeError(f"step {number} answered {page.status_code}")
            data = {"csrfmiddlewaretoken": _csrf(page.text), **raw}
            files = {"scalp-photo": ("scalp.jpg", photo, "image/jpeg")} if number == 4 else None
            response = timed(
                f"step {number} POST",
                lambda url=location, d=data, f=files: client.post(url, data=d, files=f),
            )
            location = response.headers.get("location", "")
            if response.status_code != 302:
                raise RuntimeError(f"step {number} POST answered {response.status_code}")
        if "/review/" not in location:
            raise RuntimeError(f"the last step led to {location}, not the review")
        review = timed("review GET", lambda: client.get(location))
        response = timed(
            "review POST",
            lambda: client.post(location, data={"csrfmiddlewaretoken": _csrf(review.text)}),
        )
        done = response.headers.get("location", "")
        if response.status_code != 302 or "/complete/" not in done:
            raise RuntimeError(f"submitting the review answered {response.status_code} {done}")
        if timed("complete GET", lambda: client.get(done)).status_code != 200:
            raise RuntimeError("the completion page did not answer 200")


def run_intake_burst(
    base_url: str,
    accounts: list[tuple[str, str]] | None = None,
    *,
    patients: int = 50,
    max_seconds: float = 180.0,
) -> dict:
    """`patients` concurrent patients (threads, each its own client and account) complete the
    demo intake over HTTP; accounts default to `patients` new ones (Django must be set up)."""
    _check_loopback(base_url)
    if accounts is None:
        accounts = prepare_burst_accounts(patients)
    accounts = accounts[:patients]
    deadline = time.monotonic() + max_seconds
    lock = threading.Lock()
    steps: dict[str, list[float]] = {}
    failures: list[str] = []
    completed = 0

    def patient(email: str, password: str) -> None:
        nonlocal completed
        own: dict[str, list[float]] = {}
        try:
            _complete_intake(base_url, email, password, deadline, own)
        except Exception as exc:
            with lock:
                failures.append(f"{email}: {exc}")
        else:
            with lock:
                completed += 1
        with lock:
            for label, values in own.items():
                steps.setdefault(label, []).extend(values)

    started = time.perf_counter()
    threads = [threading.Thread(target=patient, args=account) for account in accounts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "patients": len(accounts),
        "completed": completed,
        "errors": len(failures),
        "failures": failures[:5],
        "seconds": wall,
        "completions_per_s": completed / wall if wall else 0.0,
        "steps": {
            label: {
                "count": len(values),
                "p50_ms": statistics.median(values),
                "p95_ms": _percentile(values, 0.95),
            }
            for label, values in steps.items()
        },
    }


def prepare_burst_accounts(count: int, *, tag: str | None = None) -> list[tuple[str, str]]:
    """`count` new patients ready to start an intake (Django must be set up)."""
    from django.contrib.auth.hashers import make_password

    tag = tag or str(int(time.time()))
    password_hash = make_password(PASSWORD)
    accounts = []
    for number in range(count):
        email = f"bench-pages-{tag}-burst{number}@example.com"
        _patient(email, password_hash)
        accounts.append((email, PASSWORD))
    return accounts


# --- report --------------------------------------------------------------------------------


def print_pages(rows: list[dict]) -> None:
    print(
        f"{'page':<15}{'history':>8}{'queries':>9}{'requests':>10}{'errors':>8}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'in-proc p50':>13}{'in-proc p95':>13}  target"
    )
    for row in rows:
        verdict = "ok" if row["p95_ms"] <= row["target_ms"] and not row["errors"] else "OVER"
        in_p50, in_p95 = row.get("in_process_p50_ms"), row.get("in_process_p95_ms")
        print(
            f"{row['page']:<15}{row['history']:>8}{row['queries'] or '-':>9}{row['requests']:>10}"
            f"{row['errors']:>8}{row['p50_ms']:>9.1f}{row['p95_ms']:>9.1f}"
            f"{in_p50 if in_p50 is not None else float('nan'):>13.1f}"
            f"{in_p95 if in_p95 is not None else float('nan'):>13.1f}"
            f"  p95 < {row['target_ms']:.0f} ms {verdict}"
        )


def print_burst(result: dict) -> None:
    print(
        f"patients {result['patients']}  completed {result['completed']}  errors "
        f"{result['errors']}  in {result['seconds']:.1f} s  ->  "
        f"{result['completions_per_s']:.2f} completions/s"
    )
    print(f"{'step':<15}{'requests':>10}{'p50 ms':>9}{'p95 ms':>9}")
    for label, stats in result["steps"].items():
        print(f"{label:<15}{stats['count']:>10}{stats['p50_ms']:>9.1f}{stats['p95_ms']:>9.1f}")
    for failure in result["failures"]:
        print(f"  failure: {failure}")


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog=__doc__.split("\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/thinclinic_bench",
        help="an existing PostgreSQL database (migrated and seeded by the run)",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--port", type=int, default=8610, help="gunicorn's 127.0.0.1 port")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--requests", type=int, default=200, help="GETs per page")
    parser.add_argument("--clients", type=int, default=3, help="concurrent clients per page")
    parser.add_argument("--patients", type=int, default=50, help="concurrent intake patients")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="time bound per page")
    parser.add_argument("--burst-seconds", type=float, default=180.0, help="bound of the burst")
    parser.add_argument("--skip-burst", action="store_true", help="pages only")
    parser.add_argument("--json", help="also write the rows and the burst's result to this file")
    args = parser.parse_args(argv)
    db_host = urlparse(args.database_url).hostname or ""
    if not (db_host.startswith("127.") or db_host in {"localhost", "::1"}):
        print("refusing a database that is not on loopback", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="bench-pages-media-") as media_root:
        env = bench_env(
            database_url=args.database_url,
            redis_url=args.redis_url,
            port=args.port,
            media_root=media_root,
        )
        django_configure(env)
        print(f"load average before: {_load()}")
        print(f"preparing {args.database_url} ...", flush=True)
        targets, accounts = prepare(patients=0 if args.skip_burst else args.patients)
        with gunicorn(env=env, port=args.port, workers=args.workers) as base_url:
            print(f"gunicorn {args.workers} sync workers on {base_url} (production settings)")
            print(
                f"\npages: {args.requests} GETs each from {args.clients} clients, client-side"
                " latency on loopback\n"
            )
            rows = run_pages(
                base_url,
                targets,
                requests=args.requests,
                clients=args.clients,
                max_seconds=args.max_seconds,
            )
            print_pages(rows)
            print(
                "(p50/p95: over HTTP, client-side; in-proc: the same page through Django's test"
                f" client in this process, {IN_PROCESS_REQUESTS} requests, one at a time)"
            )
            result = None
            if not args.skip_burst:
                print(
                    f"\nintake burst: {args.patients} patients at once, sign-in to intake"
                    " completion (no checkout: production allows only Stripe)\n"
                )
                result = run_intake_burst(
                    base_url, accounts, patients=args.patients, max_seconds=args.burst_seconds
                )
                print_burst(result)
    print(f"\nload average after: {_load()} (2 cores: above 2, the numbers include waiting)")
    if args.json:
        Path(args.json).write_text(json.dumps({"pages": rows, "burst": result}, default=str))
    failed = any(r["errors"] or r["p95_ms"] > r["target_ms"] for r in rows)
    failed = failed or bool(result and (result["errors"] or result["completed"] < len(accounts)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
