"""What the access log records: role and screen, the patient's own pages, one row per patient
shown on an admin list, webhook payloads against their patient, and support's search and CSV
export (which is itself logged)."""

import csv
import io

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from core.models import AccessLog, AccessLogAction
from core.roles import MEDICAL_ADVISORS, SUPPORT_STAFF
from tests.accounts.factories import StaffUserFactory, UserFactory
from tests.cases.factories import CaseFactory
from tests.patients.factories import PatientFactory
from tests.staff import staff_login
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def support_user(db):
    user = StaffUserFactory()
    user.groups.add(Group.objects.get(name=SUPPORT_STAFF))
    return user


@pytest.fixture
def support(client, support_user):
    return staff_login(client, support_user)


def test_the_patients_own_dashboard_and_visit_are_logged_with_role_and_screen(client):
    patient = PatientFactory(identified=True)
    case = CaseFactory(patient=patient)
    client.force_login(patient.user)
    assert client.get(reverse("cases:dashboard")).status_code == 200
    assert client.get(reverse("cases:detail", args=[case.public_id])).status_code == 200
    rows = list(
        AccessLog.objects.order_by("pk").values_list(
            "actor_id", "role", "screen", "object_type", "object_id", "patient_user_id"
        )
    )
    assert rows == [
        (patient.user_id, "patient", "cases:dashboard", "patients.Patient", str(patient.pk),
         patient.user_id),
        (patient.user_id, "patient", "cases:detail", "cases.Case", str(case.pk),
         patient.user_id),
    ]  # fmt: skip


def test_an_admin_page_records_the_staff_members_groups_and_the_admin_screen(client):
    case = CaseFactory()
    staff = StaffUserFactory()
    staff.groups.add(*Group.objects.filter(name__in=[SUPPORT_STAFF, MEDICAL_ADVISORS]))
    staff_login(client, staff)
    assert client.get(reverse("admin:cases_case_change", args=[case.pk])).status_code == 200
    entry = AccessLog.objects.get(object_type="cases.Case", object_id=str(case.pk))
    assert entry.role == "Medical advisors, Support staff"
    assert entry.screen == "admin:cases_case_change"
    assert entry.patient_user_id == case.patient.user_id


def test_a_superusers_role_is_superuser(client):
    case = CaseFactory()
    staff_login(client, StaffUserFactory(is_superuser=True))
    client.get(reverse("admin:cases_case_change", args=[case.pk]))
    assert AccessLog.objects.get().role == "superuser"


@pytest.mark.parametrize(
    "url_name", ["admin:cases_case_changelist", "admin:patients_patient_changelist"]
)
def test_an_admin_list_logs_one_row_per_patient_shown(support, url_name):
    cases = [CaseFactory() for _ in range(3)]
    response = support.get(reverse(url_name))
    assert response.status_code == 200
    logged = AccessLog.objects.filter(screen=url_name)
    assert sorted(logged.values_list("patient_user_id", flat=True)) == sorted(
        c.patient.user_id for c in cases
    )
    assert set(logged.values_list("action", flat=True)) == {AccessLogAction.VIEW}


def test_an_admin_list_of_notifications_and_payments_logs_their_patients(support):
    from cases.models import Notification

    case = CaseFactory()
    Notification.objects.create(case=case, key="k-1", kind="case_approved", channel="email")
    for name in ["admin:cases_notification_changelist", "admin:payments_payment_changelist"]:
        assert support.get(reverse(name)).status_code == 200
        assert AccessLog.objects.get(screen=name).patient_user_id == case.patient.user_id


def test_an_admin_list_logs_only_the_page_shown(support):
    from cases.admin import CaseAdmin

    CaseAdmin.list_per_page, saved = 2, CaseAdmin.list_per_page
    try:
        for _ in range(3):
            CaseFactory()
        support.get(reverse("admin:cases_case_changelist"))
    finally:
        CaseAdmin.list_per_page = saved
    assert AccessLog.objects.count() == 2


def test_opening_a_webhook_payload_is_logged_against_its_patient(support, deliver):
    case = CaseFactory()
    deliver("case_assigned_to_clinician", case)
    event = WebhookEvent.objects.get()
    assert not AccessLog.objects.exists()  # receiving and processing it is not an access
    page = support.get(reverse("admin:webhooks_webhookevent_change", args=[event.pk]))
    assert page.status_code == 200
    entry = AccessLog.objects.get(object_type="webhooks.WebhookEvent")
    assert entry.patient_user_id == case.patient.user_id


def test_search_by_patient_email_patient_id_and_staff_email(support, support_user, client):
    case, other = CaseFactory(), CaseFactory()
    advisor = StaffUserFactory(email="advisor@example.com", is_superuser=True)
    staff_login(client.__class__(), advisor).get(reverse("admin:cases_case_change", args=[case.pk]))
    staff_login(client.__class__(), advisor).get(
        reverse("admin:cases_case_change", args=[other.pk])
    )
    url = reverse("admin:core_accesslog_changelist")

    def found(**query) -> set[int]:
        response = support.get(url, query)
        assert response.status_code == 200
        return {e.patient_user_id for e in response.context["cl"].result_list}

    assert found(q=case.patient.user.email.upper()) == {case.patient.user_id}
    assert found(q=str(other.patient.user_id)) == {other.patient.user_id}
    assert found(patient_user_id=str(case.patient.user_id)) == {case.patient.user_id}
    assert found(q="advisor@example.com") == {case.patient.user_id, other.patient.user_id}


def test_export_selected_as_csv_is_itself_logged(support, support_user):
    case = CaseFactory()
    viewer = StaffUserFactory(email="viewer@example.com", is_superuser=True)
    from django.test import Client

    staff_login(Client(), viewer).get(reverse("admin:cases_case_change", args=[case.pk]))
    entry = AccessLog.objects.get()
    response = support.post(
        reverse("admin:core_accesslog_changelist"),
        {"action": "export_csv", "_selected_action": [entry.pk]},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["at", "actor_email", "role"]
    assert rows[1][1:4] == ["viewer@example.com", "superuser", "view"]
    export = AccessLog.objects.get(action=AccessLogAction.EXPORT)
    assert (export.actor, export.patient_user_id, export.object_type) == (
        support_user,
        case.patient.user_id,
        "core.AccessLog",
    )


def test_support_staff_can_read_but_not_change_the_audit_tables(support_user):
    for codename in ["view_accesslog", "view_securityevent", "view_purgelog"]:
        assert support_user.has_perm(f"core.{codename}")
    assert not support_user.has_perm("core.change_accesslog")
    assert not support_user.has_perm("core.delete_accesslog")


def test_a_patient_cannot_reach_the_access_log(client):
    client.force_login(UserFactory())
    response = client.get(reverse("admin:core_accesslog_changelist"))
    assert response.status_code == 302 and "login" in response.url
