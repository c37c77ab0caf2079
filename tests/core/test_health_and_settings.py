import json
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from cryptography.fernet import Fernet
from django.db import OperationalError
from django.urls import reverse

REPO = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": "q" * 10 + Fernet.generate_key().decode() + "z-Y_x9w8v7u6",
    "DJANGO_ALLOWED_HOSTS": "portal.example.com",
    "DATABASE_URL": "postgres://user:pass@db.example.com:5432/thinclinic",
    "REDIS_URL": "redis://redis.example.com:6379/0",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "MDI_API_BASE_URL": "https://api.mdintegrations.com",
    "MDI_CLIENT_ID": "client",
    "MDI_CLIENT_SECRET": "secret",
    "MDI_WEBHOOK_SECRET": "whsec",
    "MDI_WEBHOOK_AUTHORIZATION": "Bearer abc",
    "STRIPE_SECRET_KEY": "sk_live_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_x",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    # A production process starts from the production variables alone, not from test-run ones.
    leaked = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k not in leaked}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.django_db
def test_readyz_is_ok_when_the_database_answers_and_migrations_are_applied(client):
    response = client.get(reverse("readyz"))
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["migrations"]) == ("ok", "ok", "ok")


@pytest.mark.django_db
def test_readyz_is_503_when_the_database_is_down_and_names_no_exception(client, caplog):
    with mock.patch(
        "django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError("down")
    ):
        response = client.get(reverse("readyz"))
    assert response.status_code == 503
    body = json.loads(response.content)
    # The broker is "ok" in CI (Redis configured) and "not configured" on a laptop.
    assert (body["status"], body["database"]) == ("unavailable", "unavailable")
    assert body["broker"] in {"ok", "not configured"}
    assert set(body) == {"status", "database", "broker", "migrations"}
    assert b"Error" not in response.content
    assert any("OperationalError" in r.getMessage() for r in caplog.records)  # logged, not shown


@pytest.mark.django_db
def test_healthz_is_liveness_only_and_stays_200_when_the_database_is_down(client):
    with mock.patch(
        "django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError("down")
    ):
        response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_the_broker_when_one_is_configured(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    assert response.json()["broker"] == "unavailable"


@pytest.mark.django_db
def test_readyz_is_503_while_a_migration_is_not_applied(client, monkeypatch):
    from django.db.migrations.executor import MigrationExecutor

    monkeypatch.setattr("core.health._migrations_applied", False)
    monkeypatch.setattr(
        MigrationExecutor, "migration_plan", lambda self, targets: [("a migration", False)]
    )
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    assert response.json()["migrations"] == "unavailable"
    assert b"migration" not in response.content.replace(b'"migrations"', b"")


@pytest.mark.parametrize(
    "missing",
    ["DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL"],
)
def test_production_refuses_to_start_without_each_secret(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_refuses_a_malformed_encryption_key():
    result = _manage("check", env={**PRODUCTION_ENV, "FIELD_ENCRYPTION_KEYS": "not-a-key"})
    assert result.returncode != 0
    assert "Fernet" in result.stderr


def test_production_refuses_the_sandbox_payment_gateway():
    result = _manage("check", env={**PRODUCTION_ENV, "PAYMENTS_GATEWAY": "sandbox"})
    assert result.returncode != 0
    assert "PAYMENTS_GATEWAY" in result.stderr


def test_production_refuses_private_files_in_s3_without_a_bucket():
    result = _manage("check", env={**PRODUCTION_ENV, "PRIVATE_FILES_BACKEND": "s3"})
    assert result.returncode != 0
    assert "AWS_STORAGE_BUCKET_NAME" in result.stderr


def test_production_refuses_an_unknown_private_files_backend():
    result = _manage("check", env={**PRODUCTION_ENV, "PRIVATE_FILES_BACKEND": "ftp"})
    assert result.returncode != 0
    assert "PRIVATE_FILES_BACKEND" in result.stderr


def test_production_keeps_private_files_in_the_named_bucket_with_no_acl_and_signed_urls():
    show = (
        "from django.core.files.storage import storages; s = storages['private']; "
        "print(type(s).__name__, s.bucket_name, s.location, s.default_acl, s.querystring_auth, "
        "s.file_overwrite, s.object_parameters['ServerSideEncryption'])"
    )
    result = _manage(
        "shell",
        *("-v", "0", "-c", show),
        env={
            **PRODUCTION_ENV,
            "PRIVATE_FILES_BACKEND": "s3",
            "AWS_STORAGE_BUCKET_NAME": "clinic-private",
            "AWS_S3_REGION_NAME": "eu-west-1",
            "AWS_S3_SERVER_SIDE_ENCRYPTION": "AES256",
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "S3Storage",
        "clinic-private",
        "private",
        "None",
        "True",
        "False",
        "AES256",
    ]


def test_production_settings_pass_check_deploy_with_zero_warnings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_cannot_enable_the_mdi_sandbox():
    result = _manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from django.conf import settings; print(settings.MDI_SANDBOX_ENABLED)",
        env={**PRODUCTION_ENV, "MDI_SANDBOX_ENABLED": "true"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_ci_runs_against_real_postgresql_and_redis(settings):
    """In CI a silent fallback to SQLite or a missing Redis would make the suite lie."""
    if os.environ.get("CI", "").lower() not in {"1", "true", "yes"}:
        pytest.skip("only meaningful in CI, where DATABASE_URL and REDIS_URL are required")
    import redis
    from django.db import connection

    assert connection.vendor == "postgresql"
    assert redis.Redis.from_url(settings.REDIS_URL).ping() is True
