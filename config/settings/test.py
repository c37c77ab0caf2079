"""Settings for pytest. DATABASE_URL and REDIS_URL, when set, point at real services (CI)."""

from .local import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
# Each test run gets its own private media folder (see tests/conftest.py).
MDI_SANDBOX_ENABLED = True
AXES_FAILURE_LIMIT = 5
