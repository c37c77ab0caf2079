"""Post signed MDI webhook events to a running server and report how fast they are acknowledged.

    python benchmarks/webhook_throughput.py --url http://127.0.0.1:8000 --events 2000 --senders 16

Each event is distinct (its own case id and timestamp), signed with MDI_WEBHOOK_SECRET and
carrying MDI_WEBHOOK_AUTHORIZATION, exactly as MDI sends them. Prints acknowledged events per
second and p50/p99 latency. Loopback only; bounded by --events and --max-seconds.
"""

import argparse
import hashlib
import hmac
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx


def body_for(run_id: int, i: int) -> bytes:
    payload = {
        "event_type": "case_assigned_to_clinician",
        "timestamp": 1_700_000_000 + i,
        "case_id": f"bench-{run_id}-{i}",
        "metadata": "",
    }
    return json.dumps(payload, separators=(",", ":")).replace("/", "\\/").encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    # The target's own webhook credentials: from the environment, else the sandbox's generated
    # file (var/mdi-sandbox-credentials.json, see config/settings/local.py).
    stored = {}
    credentials_file = Path(__file__).resolve().parent.parent / "var/mdi-sandbox-credentials.json"
    if credentials_file.exists():
        stored = json.loads(credentials_file.read_text())
    parser.add_argument(
        "--secret",
        default=os.environ.get("MDI_WEBHOOK_SECRET", stored.get("webhook_secret", "")).split(",")[
            0
        ],
    )
    parser.add_argument(
        "--authorization",
        default=os.environ.get(
            "MDI_WEBHOOK_AUTHORIZATION", stored.get("webhook_authorization", "")
        ).split(",")[0],
    )
    args = parser.parse_args()
    if not (args.secret and args.authorization):
        print(
            "no webhook credentials: set MDI_WEBHOOK_SECRET and MDI_WEBHOOK_AUTHORIZATION",
            file=sys.stderr,
        )
        return 2
    host = urlparse(args.url).hostname or ""
    if not (host.startswith("127.") or host in {"localhost", "::1"}):
        print("refusing to load a non-loopback address", file=sys.stderr)
        return 2

    url = args.url.rstrip("/") + "/webhooks/mdi/"
    run_id = int(time.time())
    next_index = iter(range(args.events))
    lock = threading.Lock()
    latencies: list[float] = []
    failures: dict[int, int] = {}
    deadline = time.monotonic() + args.max_seconds

    def sender() -> None:
        with httpx.Client(timeout=15) as client:
            while time.monotonic() < deadline:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    return
                body = body_for(run_id, i)
                headers = {
                    "Content-Type": "application/json",
                    "Authorization": args.authorization,
                    "Signature": hmac.new(args.secret.encode(), body, hashlib.sha256).hexdigest(),
                }
                start = time.perf_counter()
                try:
                    status = client.post(url, content=body, headers=headers).status_code
                except httpx.HTTPError:
                    status = 0
                elapsed = time.perf_counter() - start
                with lock:
                    if status == 200:
                        latencies.append(elapsed)
                    else:
                        failures[status] = failures.get(status, 0) + 1

    started = time.perf_counter()
    threads = [threading.Thread(target=sender) for _ in range(args.senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started

    if not latencies:
        print(f"no event acknowledged; failures by status: {failures}")
        return 1
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(f"target            {url}")
    print(f"senders           {args.senders}")
    print(f"acknowledged      {len(latencies)} of {args.events} in {wall:.2f} s")
    print(f"throughput        {len(latencies) / wall:.1f} events/s")
    print(f"latency p50       {statistics.median(ordered) * 1000:.1f} ms")
    print(f"latency p99       {p99 * 1000:.1f} ms")
    print(f"failures          {failures or 'none'}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
