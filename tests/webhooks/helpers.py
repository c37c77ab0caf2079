"""Build and sign MDI webhook bodies the way MDI does (PHP json_encode: escaped slashes)."""

import json
from typing import Any

from django.conf import settings
from django.test import Client

from webhooks.providers import mdi_sign

# The test run's own credentials (config/settings/test.py makes fresh ones every run).
SECRET = settings.MDI_WEBHOOK_SECRET[0]
AUTHORIZATION = settings.MDI_WEBHOOK_AUTHORIZATION[0]


def php_json(payload: dict[str, Any]) -> bytes:
    """What PHP's json_encode produces: compact, "/" escaped, non-ASCII as \\uXXXX."""
    return (
        json.dumps(payload, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()
    )


def mdi_body(event_type: str, *, timestamp: int = 1_700_000_000, **fields: Any) -> bytes:
    return php_json({"event_type": event_type, "timestamp": timestamp, **fields})


def post_mdi(
    client: Client,
    body: bytes,
    *,
    secret: str | None = SECRET,
    authorization: str | None = AUTHORIZATION,
    signature: str | None = None,
) -> Any:
    headers = {}
    if authorization is not None:
        headers["HTTP_AUTHORIZATION"] = authorization
    if signature is not None:
        headers["HTTP_SIGNATURE"] = signature
    elif secret is not None:
        headers["HTTP_SIGNATURE"] = mdi_sign(body=body, secret=secret)
    return client.post("/webhooks/mdi/", data=body, content_type="application/json", **headers)
