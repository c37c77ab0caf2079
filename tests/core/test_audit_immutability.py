"""The audit tables are append-only for everyone: admin (superusers too), the model, the
QuerySet, and on PostgreSQL the database itself."""

import pytest
from django.contrib import admin
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.urls import reverse

from core.audit import access_log_record
from core.models import AccessLog, AppendOnlyError, PurgeLog, SecurityEvent
from core.security import security_event_record
from tests.accounts.factories import StaffUserFactory, UserFactory
from tests.staff import staff_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    return StaffUserFactory(is_superuser=True)


@pytest.fixture
def entry(db):
    request = RequestFactory().get("/staff/")
    request.user = StaffUserFactory()
    patient = UserFactory()
    return access_log_record(request=request, obj=patient, patient_user_id=patient.pk)


@pytest.mark.parametrize("model", [AccessLog, SecurityEvent, PurgeLog])
def test_admin_offers_no_add_change_or_delete_even_to_a_superuser(model, superuser):
    request = RequestFactory().get("/staff/")
    request.user = superuser
    model_admin = admin.site._registry[model]
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert "delete_selected" not in model_admin.get_actions(request)


def test_a_superuser_cannot_post_a_change_or_a_delete(client, superuser, entry):
    staff_login(client, superuser)
    change = reverse("admin:core_accesslog_change", args=[entry.pk])
    delete = reverse("admin:core_accesslog_delete", args=[entry.pk])
    assert client.post(change, {"action": "export"}).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert AccessLog.objects.filter(pk=entry.pk, action="view").exists()


def test_saving_an_existing_row_is_refused(entry):
    entry.object_id = "something else"
    with pytest.raises(AppendOnlyError):
        entry.save()
    assert AccessLog.objects.get(pk=entry.pk).object_id != "something else"


def test_deleting_a_row_is_refused(entry):
    with pytest.raises(AppendOnlyError):
        entry.delete()
    assert AccessLog.objects.filter(pk=entry.pk).exists()


@pytest.mark.parametrize("model", [AccessLog, SecurityEvent, PurgeLog])
def test_bulk_update_and_delete_are_refused(model, entry):
    security_event_record(kind="login_failed", typed_username="x@example.com")
    with pytest.raises(AppendOnlyError):
        model.objects.all().update(at=None)
    with pytest.raises(AppendOnlyError):
        model.objects.all().delete()


def test_bulk_update_of_instances_is_refused(entry):
    entry.path = "/elsewhere/"
    with pytest.raises(AppendOnlyError):
        AccessLog.objects.bulk_update([entry], ["path"])


def test_an_actor_with_audit_history_cannot_be_deleted(entry):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        entry.actor.delete()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE core_accesslog SET object_id = 'x'",
        "DELETE FROM core_accesslog",
        "UPDATE core_securityevent SET detail = 'x'",
        "DELETE FROM core_securityevent",
    ],
)
def test_postgresql_refuses_update_and_delete_in_sql(statement, entry):
    security_event_record(kind="login_failed", typed_username="x@example.com")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert AccessLog.objects.filter(pk=entry.pk).exists()
