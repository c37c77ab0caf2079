"""The sandbox is not an open door: the console needs its own permission, every partner route
needs a bearer token, and what the sandbox stores is encrypted at rest."""

import io
import json

import pytest
import respx
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from core.roles import MEDICAL_ADVISORS, SANDBOX_CLINICIANS, SUPPORT_STAFF
from mdi_sandbox.models import (
    SandboxCase,
    SandboxCaseStatus,
    SandboxMessage,
    SandboxPatient,
    SandboxWebhook,
    email_digest,
)
from tests.accounts.factories import StaffUserFactory
from tests.mdi_sandbox.conftest import PARTNER
from tests.staff import staff_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def case() -> SandboxCase:
    patient = SandboxPatient.objects.create(
        email="Jane.Roe@example.com",
        payload={"first_name": "Jane", "last_name": "Roe", "metadata": "pm"},
    )
    return SandboxCase.objects.create(
        patient=patient, metadata="our-uuid", payload={"case_questions": []}
    )


@pytest.fixture
def captured(settings):
    with respx.mock(assert_all_called=False) as router:
        yield router.post(settings.MDI_SANDBOX_WEBHOOK_URL).respond(200)


def _staff_in(group_name: str):
    user = StaffUserFactory()
    user.groups.add(Group.objects.get_or_create(name=group_name)[0])
    return user


CONSOLE_REQUESTS = [
    ("get", "mdi_sandbox:console", False),
    ("post", "mdi_sandbox:act", True),
    ("post", "mdi_sandbox:deliver_held", False),
]


@pytest.mark.parametrize(("method", "name", "needs_case"), CONSOLE_REQUESTS)
def test_anonymous_visitors_are_sent_to_sign_in(client, case, method, name, needs_case):
    url = reverse(name, args=[case.case_id] if needs_case else [])
    response = getattr(client, method)(url, {"action": "assign"} if method == "post" else {})
    assert response.status_code == 302
    assert response.url.startswith(reverse(django_settings.LOGIN_URL))


@pytest.mark.parametrize("group_name", [MEDICAL_ADVISORS, SUPPORT_STAFF])
@pytest.mark.parametrize(("method", "name", "needs_case"), CONSOLE_REQUESTS)
def test_staff_without_the_permission_are_refused(
    client, case, captured, group_name, method, name, needs_case
):
    user = _staff_in(group_name)
    assert not user.has_perm("mdi_sandbox.act_as_clinician")
    staff_login(client, user)
    url = reverse(name, args=[case.case_id] if needs_case else [])
    response = getattr(client, method)(url, {"action": "assign"} if method == "post" else {})
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.status == "created" and captured.call_count == 0


def test_the_demo_clinician_from_seed_demo_can_act_and_sees_the_credentials(
    client, settings, case, captured, django_capture_on_commit_callbacks
):
    settings.DEBUG = True
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    line = next(x for x in out.getvalue().splitlines() if "clinician@example.com" in x)
    assert line.split()[:2] == SANDBOX_CLINICIANS.split()
    clinician = get_user_model().objects.get(email="clinician@example.com")
    assert clinician.check_password(line.split()[-1])
    assert clinician.has_perm("mdi_sandbox.act_as_clinician")
    for email in ("advisor@example.com", "support@example.com"):
        assert (
            not get_user_model().objects.get(email=email).has_perm("mdi_sandbox.act_as_clinician")
        )
    assert settings.MDI_CLIENT_ID in out.getvalue()

    staff_login(client, clinician)
    page = client.get(reverse("mdi_sandbox:console")).content.decode()
    assert settings.MDI_CLIENT_ID in page and settings.MDI_CLIENT_SECRET in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("mdi_sandbox:act", args=[case.case_id]), {"action": "assign"}
        )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == "assigned" and captured.call_count == 1


PARTNER_ROUTES = [
    ("post", "/patients"),
    ("post", "/patients/search"),
    ("get", "/patients/{patient_id}"),
    ("patch", "/patients/{patient_id}"),
    ("get", "/patients/{patient_id}/cases"),
    ("get", "/patients/{patient_id}/messages"),
    ("post", "/patients/{patient_id}/messages"),
    ("post", "/files"),
    ("post", "/cases"),
    ("get", "/cases/{case_id}"),
    ("post", "/cases/{case_id}/cancel"),
    ("get", "/cases/{case_id}/statuses"),
    ("post", "/cases/{case_id}/files/some-file"),
    ("post", "/tests/encounters/{case_id}/status"),
    ("post", "/tests/encounters/{case_id}/prescriptions"),
    ("post", "/tests/patients/{patient_id}/messages"),
]


@pytest.mark.parametrize("token", [None, "not-a-token"])
@pytest.mark.parametrize(("method", "path"), PARTNER_ROUTES)
def test_every_partner_route_answers_401_without_a_valid_token(
    client, case, captured, method, path, token
):
    url = PARTNER + path.format(patient_id=case.patient.patient_id, case_id=case.case_id)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    if method == "get":
        response = client.get(url, **headers)
    else:
        body = json.dumps({"status": "cancelled", "reason": "x", "search": "jane"})
        response = getattr(client, method)(
            url, data=body, content_type="application/json", **headers
        )
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}
    case.refresh_from_db()
    assert case.status == "created" and captured.call_count == 0


def test_the_401_list_covers_every_partner_route():
    from mdi_sandbox import urls

    routes = {
        str(p.pattern).removeprefix(urls.partner)
        for p in urls.urlpatterns
        if str(p.pattern).startswith(urls.partner) and p.name != "token"
    }
    tested = {
        path.replace("{patient_id}", "<str:patient_id>")
        .replace("{case_id}", "<str:case_id>")
        .replace("some-file", "<str:file_id>")
        for _, path in PARTNER_ROUTES
    }
    assert routes == tested


@pytest.mark.parametrize(
    "credentials",
    [
        {"client_id": "wrong", "client_secret": "wrong"},
        {"client_secret": "wrong"},  # the right id with a wrong secret
        {"client_id": "wrong"},  # a wrong id with the right secret
    ],
)
def test_a_token_request_with_wrong_credentials_is_401(client, credentials):
    body = {
        "grant_type": "client_credentials",
        "scope": "*",
        "client_id": django_settings.MDI_CLIENT_ID,
        "client_secret": django_settings.MDI_CLIENT_SECRET,
        **credentials,
    }
    response = client.post(f"{PARTNER}/auth/token", data=body, content_type="application/json")
    assert response.status_code == 401
    assert "access_token" not in response.json()


def test_an_anonymous_client_cannot_search_patients(client, case):
    response = client.post(
        f"{PARTNER}/patients/search",
        data={"search": "jane.roe@example.com"},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert "Jane" not in response.content.decode()


def test_an_anonymous_client_cannot_change_a_case_status(client, case, captured):
    response = client.post(
        f"{PARTNER}/tests/encounters/{case.case_id}/status",
        data={"status": "completed"},
        content_type="application/json",
    )
    assert response.status_code == 401
    case.refresh_from_db()
    assert case.status == "created"
    assert not SandboxWebhook.objects.exists() and captured.call_count == 0


def test_the_credentials_are_this_runs_own_not_the_old_published_ones():
    assert django_settings.MDI_CLIENT_ID not in {"", "sandbox-client"}
    assert django_settings.MDI_CLIENT_SECRET not in {"", "sandbox-secret"}
    assert django_settings.MDI_WEBHOOK_SECRET[0] != "sandbox-webhook-secret"


def _raw(table: str, column: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table}")  # fixed table and column names
        return [str(row[0]) for row in cursor.fetchall()]


def test_identity_and_clinical_content_is_encrypted_at_rest(
    client, auth, case, captured, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"{PARTNER}/tests/encounters/{case.case_id}/status",
            data={"status": "waiting", "reason": "Send a scalp photo please"},
            content_type="application/json",
            **auth,
        )
    SandboxMessage.objects.create(patient=case.patient, text="My scalp itches", user_type="x")
    assert SandboxCaseStatus.objects.filter(reason__isnull=False).exists()
    stored = " ".join(
        value
        for table, columns in {
            "mdi_sandbox_sandboxpatient": ["email", "payload"],
            "mdi_sandbox_sandboxcase": ["payload", "reason"],
            "mdi_sandbox_sandboxmessage": ["text"],
            "mdi_sandbox_sandboxwebhook": ["body"],
            "mdi_sandbox_sandboxcasestatus": ["reason"],
        }.items()
        for column in columns
        for value in _raw(table, column)
    )
    for plaintext in ("jane.roe", "Jane", "scalp photo", "scalp itches", "case_waiting"):
        assert plaintext not in stored
    assert _raw("mdi_sandbox_sandboxpatient", "email_digest") == [
        email_digest("jane.roe@example.com")
    ]


def test_search_finds_by_exact_email_through_the_digest_and_by_name(client, auth, case):
    def search(term):
        response = client.post(
            f"{PARTNER}/patients/search",
            data={"search": term},
            content_type="application/json",
            **auth,
        )
        assert response.status_code == 200
        return [p["patient_id"] for p in response.json()]

    assert search("  JANE.ROE@example.com ") == [case.patient.patient_id]
    assert search("jane roe") == [case.patient.patient_id]
    assert search("roe") == [case.patient.patient_id]
    assert search("jane.roe@example.org") == []
    assert search("") == []


def test_an_email_is_unique_whatever_its_case(client, auth, case):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        SandboxPatient.objects.create(email="JANE.ROE@EXAMPLE.COM", payload={})
