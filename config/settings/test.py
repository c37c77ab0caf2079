"""Settings for pytest. DATABASE_URL and REDIS_URL, when set, point at real services (CI).

Built on base.py rather than local.py so a test run never creates or reads the developer's
sandbox credentials file; the MDI credentials are fresh for every run, so tests read them from
settings and no value can leak into docs or fixtures.
"""

import secrets

from .base import *  # noqa: F403
from .base import FIELD_ENCRYPTION_KEYS, INSTALLED_APPS, SECRET_KEY, local_field_encryption_key

DEBUG = False
if not FIELD_ENCRYPTION_KEYS:
    FIELD_ENCRYPTION_KEYS = [local_field_encryption_key(SECRET_KEY)]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMS_BACKEND = "core.sms.LocmemSmsBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
WEBHOOK_PROCESSING = "inline"  # tests stand in for a worker with webhook_events_work()
# Each test run gets its own private media folder (see tests/conftest.py).
MDI_SANDBOX_ENABLED = True
if "mdi_sandbox" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS, "mdi_sandbox"]
MDI_CLIENT_ID = f"test-client-{secrets.token_hex(4)}"
MDI_CLIENT_SECRET = secrets.token_urlsafe(24)
MDI_WEBHOOK_SECRET = [secrets.token_urlsafe(24)]
MDI_WEBHOOK_AUTHORIZATION = [f"Bearer {secrets.token_urlsafe(24)}"]
STRIPE_WEBHOOK_SECRET = [f"whsec_{secrets.token_urlsafe(24)}"]
AXES_FAILURE_LIMIT = 5

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory: the browser tests' live server answers several requests at once
    # (the sandbox posts webhooks back while a page waits), each on its own connection; an
    # in-memory test database is one connection shared by every thread.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}  # noqa: F405
    # A throwaway file: no need to wait for the disk on every commit.
    DATABASES["default"]["OPTIONS"]["init_command"] = (  # noqa: F405
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"
    )
