import pytest
from django.test import RequestFactory

from core.audit import access_log_record
from core.models import AccessLog, AccessLogAction
from tests.accounts.factories import StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_access_is_recorded_with_actor_object_and_path_but_no_query_string():
    staff, patient = StaffUserFactory(), UserFactory()
    request = RequestFactory().get(
        "/staff/patients/1/?email=secret@example.com", REMOTE_ADDR="10.0.0.5"
    )
    request.user = staff
    access_log_record(
        request=request, obj=patient, action=AccessLogAction.VIEW, patient_user_id=patient.pk
    )
    entry = AccessLog.objects.get()
    assert (entry.actor, entry.object_type, entry.object_id) == (
        staff,
        "accounts.User",
        str(patient.pk),
    )
    assert entry.path == "/staff/patients/1/"
    assert entry.ip_address == "10.0.0.5"
    assert entry.patient_user_id == patient.pk


def test_the_access_log_is_read_only_in_admin(admin_client):
    from django.contrib import admin

    model_admin = admin.site._registry[AccessLog]
    request = RequestFactory().get("/")
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
