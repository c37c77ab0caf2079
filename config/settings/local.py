"""The embedded default: `make run` on a laptop with nothing else installed."""

import json
import os
import secrets
from pathlib import Path

from .base import *  # noqa: F403
from .base import (
    FIELD_ENCRYPTION_KEYS,
    MDI_CLIENT_ID,
    MDI_CLIENT_SECRET,
    MDI_SANDBOX_CREDENTIALS_FILE,
    MDI_SANDBOX_ENABLED,
    MDI_WEBHOOK_AUTHORIZATION,
    MDI_WEBHOOK_SECRET,
    SECRET_KEY,
    env,
    local_field_encryption_key,
)

DEBUG = env.bool("DJANGO_DEBUG", default=True)

# A local-only encryption key derived from the local secret key, so a fresh clone runs with
# nothing set. Real environments supply FIELD_ENCRYPTION_KEYS (production.py requires it).
if not FIELD_ENCRYPTION_KEYS:
    FIELD_ENCRYPTION_KEYS = [local_field_encryption_key(SECRET_KEY)]


def sandbox_credentials(path: Path) -> dict[str, str]:
    """This installation's sandbox partner credentials, generated on first read.

    Random per clone rather than fixed, so a sandbox reachable from elsewhere (a shared dev
    box, a tunnel) does not hand its token to whoever read the docs. Created with O_EXCL so two
    processes starting together agree on one set, and readable only by its owner.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fresh = {
        "client_id": f"sandbox-{secrets.token_hex(8)}",
        "client_secret": secrets.token_urlsafe(32),
        "webhook_secret": secrets.token_urlsafe(32),
        "webhook_authorization": f"Bearer {secrets.token_urlsafe(32)}",
    }
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        stored = json.loads(path.read_text())
        # A file from an older layout gains the missing keys rather than failing start-up.
        if set(fresh) <= set(stored):
            return stored
        stored = {**fresh, **stored}
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)
    else:
        stored = fresh
    with os.fdopen(fd, "w") as handle:
        json.dump(stored, handle, indent=2)
    return stored


# Environment variables win; otherwise the sandbox's generated credentials, which our MDI
# client then uses against it. Pointing at real MDI means setting all four.
if MDI_SANDBOX_ENABLED and not (
    MDI_CLIENT_ID and MDI_CLIENT_SECRET and MDI_WEBHOOK_SECRET and MDI_WEBHOOK_AUTHORIZATION
):
    _credentials = sandbox_credentials(MDI_SANDBOX_CREDENTIALS_FILE)
    MDI_CLIENT_ID = MDI_CLIENT_ID or _credentials["client_id"]
    MDI_CLIENT_SECRET = MDI_CLIENT_SECRET or _credentials["client_secret"]
    MDI_WEBHOOK_SECRET = MDI_WEBHOOK_SECRET or [_credentials["webhook_secret"]]
    MDI_WEBHOOK_AUTHORIZATION = MDI_WEBHOOK_AUTHORIZATION or [_credentials["webhook_authorization"]]
