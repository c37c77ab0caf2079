"""The embedded default: `make run` on a laptop with nothing else installed."""

import base64
import hashlib

from .base import *  # noqa: F403
from .base import SECRET_KEY, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)

# A local-only encryption key derived from the local secret key, so a fresh clone runs with
# nothing set. Real environments supply FIELD_ENCRYPTION_KEYS (production.py requires it).
if not FIELD_ENCRYPTION_KEYS:  # noqa: F405
    FIELD_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(f"fields:{SECRET_KEY}".encode()).digest()).decode()
    ]
