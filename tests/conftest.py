"""Shared fixtures. Per-app factories live in tests/<app>/factories.py."""

import os

import pytest
from django.db import connection

from tests.accounts.factories import UserFactory

# The shipped demo questionnaire, used across apps (patients, intake, e2e).
from tests.intake.demo_fixtures import demo_data, demo_structure, demo_version  # noqa: F401
from tests.mdi.fake_mdi import FakeMdi, client_for
from tests.staff import staff_login
from tests.webhooks.helpers import mdi_body, post_mdi

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `postgres` need real row locks. Locally on SQLite they skip; in CI they
    must run, so CI on anything but PostgreSQL is a hard failure, never a silent skip."""
    if connection.vendor == "postgresql":
        return
    if IN_CI:
        raise pytest.UsageError(
            f"CI must run against PostgreSQL, but the database is {connection.vendor}"
        )
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL); always runs in CI")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path) -> None:
    """Uploaded files of one test never land in the developer's private_media/."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private_media"
    settings.MEDIA_ROOT = settings.PRIVATE_MEDIA_ROOT


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def fake_mdi(monkeypatch) -> FakeMdi:
    """Every test's MDI is a fake behind a real httpx transport: nothing reaches a network,
    and a test can queue faults on it (see tests/mdi/fake_mdi.py)."""
    fake = FakeMdi()
    monkeypatch.setattr("cases.mdi_client.mdi_client", lambda: client_for(fake))
    return fake


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def admin_client(client, admin_user):
    """pytest-django's admin_client, but signed in with a verified second factor."""
    return staff_login(client, admin_user)


@pytest.fixture
def patient_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def deliver(client, django_capture_on_commit_callbacks):
    """POST a signed MDI event and run what the view enqueued after commit (the task)."""

    def send(event_type: str, case=None, **fields):
        if case is not None:
            fields.setdefault("case_id", case.mdi_case_id)
            fields.setdefault("metadata", str(case.public_id))
        body = mdi_body(event_type, **fields)
        with django_capture_on_commit_callbacks(execute=True):
            response = post_mdi(client, body)
        assert response.status_code == 200
        return response

    return send


@pytest.fixture
def staff_roles(db) -> None:
    """The staff role groups exactly as the data migrations make them.

    A transactional test (the browser tests) starts from tables that an earlier transactional
    test emptied, migration-made rows included; this re-runs the migrations' own role steps
    (create the groups, grant each app's permissions) in migration order, so tests use the
    real role definitions rather than copies."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.db.migrations.operations import RunPython

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes(), clean_start=True)
    state_apps = executor.loader.project_state().apps
    with connection.schema_editor() as editor:
        for migration, _backwards in plan:
            for operation in migration.operations:
                if isinstance(operation, RunPython) and operation.code.__name__ in {
                    "create_groups",
                    "grant",
                }:
                    operation.code(state_apps, editor)
