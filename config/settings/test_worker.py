"""A real Celery worker process for the browser tests in CI (tests/e2e/conftest.py starts it).

It shares the test run's database (the test database's name), broker (REDIS_URL), private
media folder and the per-run MDI credentials, all handed over in the environment, so the
worker does what production's worker does: tasks cross a real broker into another process.
"""

import environ

from .test import *  # noqa: F403
from .test import DATABASES, STORAGES, private_local_storage

env = environ.Env()

CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_URL = env("REDIS_URL")
DATABASES["default"]["NAME"] = env("TEST_WORKER_DATABASE_NAME")
PRIVATE_MEDIA_ROOT = env.path("PRIVATE_MEDIA_ROOT")
MEDIA_ROOT = PRIVATE_MEDIA_ROOT
STORAGES = {**STORAGES, "private": private_local_storage(PRIVATE_MEDIA_ROOT)}
MDI_API_BASE_URL = env("MDI_API_BASE_URL")
MDI_SANDBOX_WEBHOOK_URL = env("MDI_SANDBOX_WEBHOOK_URL")
MDI_CLIENT_ID = env("MDI_CLIENT_ID")
MDI_CLIENT_SECRET = env("MDI_CLIENT_SECRET")
MDI_WEBHOOK_SECRET = env.list("MDI_WEBHOOK_SECRET")
MDI_WEBHOOK_AUTHORIZATION = env.list("MDI_WEBHOOK_AUTHORIZATION")
