"""Shared fixtures. Per-app factories live in tests/<app>/factories.py."""

import os
import uuid
from collections.abc import Iterator

import pytest
from django.db import connection

from config.settings.base import private_local_storage, private_s3_storage
from tests.accounts.factories import UserFactory

# The shipped demo questionnaire, used across apps (patients, intake, e2e).
from tests.intake.demo_fixtures import demo_data, demo_structure, demo_version  # noqa: F401
from tests.mdi.fake_mdi import FakeMdi, client_for
from tests.s3 import S3Server
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
    # A new STORAGES makes Django build the private storage again, on this folder.
    settings.STORAGES = {
        **settings.STORAGES,
        "private": private_local_storage(settings.PRIVATE_MEDIA_ROOT),
    }


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3-compatible server (moto's, in a thread) on a free port of 127.0.0.1, with
    one empty bucket; started only for the tests that ask for it, stopped after the run."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    s3 = S3Server(
        endpoint_url=f"http://{host}:{port}",
        bucket="thinclinic-private-test",
        access_key="test-access-key",
        secret_key="test-secret-key",
        region="us-east-1",
    )
    s3.client = boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        aws_access_key_id=s3.access_key,
        aws_secret_access_key=s3.secret_key,
        region_name=s3.region,
    )
    s3.client.create_bucket(Bucket=s3.bucket)
    try:
        yield s3
    finally:
        server.stop()


@pytest.fixture
def s3_private_storage(settings, s3_server) -> Iterator[S3Server]:
    """STORAGES["private"] is the bucket on the local S3 server, under a prefix of this test's
    own (emptied afterwards), configured as production configures it."""
    s3_server.prefix = f"private-{uuid.uuid4().hex}"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": private_s3_storage(
            bucket_name=s3_server.bucket,
            endpoint_url=s3_server.endpoint_url,
            region_name=s3_server.region,
            access_key=s3_server.access_key,
            secret_key=s3_server.secret_key,
            location=s3_server.prefix,
            addressing_style="path",
        ),
    }
    yield s3_server
    for key in s3_server.object_keys():
        s3_server.client.delete_object(Bucket=s3_server.bucket, Key=key)


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
