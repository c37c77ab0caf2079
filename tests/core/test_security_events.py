"""Security events: failed sign-ins (never the typed email in the clear), lockouts, refused
webhooks, a patient reaching for another patient's record (still a plain 404), a 403 in admin,
and support's read-only view of them."""

import uuid

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from cases.models import ActionRequest, ActionRequestKind
from core.models import SecurityEvent, SecurityEventKind
from core.roles import SUPPORT_STAFF
from core.security import username_digest
from patients.models import IdentityDocument
from tests.accounts.factories import StaffUserFactory, UserFactory
from tests.cases.factories import CaseFactory
from tests.patients.factories import PatientFactory
from tests.staff import staff_login
from tests.webhooks.helpers import mdi_body, post_mdi

pytestmark = pytest.mark.django_db

TYPED = "Dana.Reyes@Example.com "


def _login(client, username: str, password: str = "wrong-password"):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def test_a_failed_sign_in_is_recorded_with_a_hash_of_the_typed_email_never_the_email(client):
    _login(client, TYPED)
    event = SecurityEvent.objects.get(kind=SecurityEventKind.LOGIN_FAILED)
    assert event.username_hash == username_digest("dana.reyes@example.com")
    assert event.path == reverse("accounts:login")
    assert event.user is None
    stored = " ".join(str(v) for v in SecurityEvent.objects.values_list().get())
    assert "dana" not in stored.lower()


def test_every_case_variant_of_an_email_hashes_alike_and_differs_from_other_emails():
    assert username_digest(" A@Example.COM") == username_digest("a@example.com")
    assert username_digest("a@example.com") != username_digest("b@example.com")
    assert username_digest("") == username_digest(None) == ""


def test_a_successful_sign_in_records_nothing(client):
    user = UserFactory()
    from tests.accounts.factories import DEFAULT_PASSWORD

    assert _login(client, user.email, DEFAULT_PASSWORD).status_code == 302
    assert not SecurityEvent.objects.exists()


def test_a_lockout_is_recorded(client, settings):
    UserFactory(email="victim@example.com")
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        _login(client, "victim@example.com")
    lockouts = SecurityEvent.objects.filter(kind=SecurityEventKind.LOCKOUT)
    assert lockouts.exists()
    assert lockouts.first().username_hash == username_digest("victim@example.com")


def test_refused_webhooks_are_recorded_with_their_reason(client):
    assert post_mdi(client, mdi_body("case_created"), secret="wrong").status_code == 401
    oversized = client.post(
        "/webhooks/mdi/", data=b"{}", content_type="application/json", CONTENT_LENGTH="2000000"
    )
    assert oversized.status_code == 413
    details = sorted(
        SecurityEvent.objects.filter(kind=SecurityEventKind.WEBHOOK_REFUSED).values_list(
            "detail", flat=True
        )
    )
    assert len(details) == 2
    assert details[1] == "mdi:too-large"
    assert details[0].startswith("mdi:")


def test_an_accepted_webhook_records_no_security_event(client):
    assert post_mdi(client, mdi_body("case_created", case_id="c-9")).status_code == 200
    assert not SecurityEvent.objects.exists()


@pytest.fixture
def intruder(client):
    patient = PatientFactory(identified=True)
    client.force_login(patient.user)
    return patient


def _denied() -> list[tuple]:
    return list(
        SecurityEvent.objects.filter(kind=SecurityEventKind.AUTHORIZATION_DENIED).values_list(
            "user_id", "detail", "path"
        )
    )


def test_another_patients_visit_is_a_404_and_a_security_event(client, intruder):
    theirs = CaseFactory()
    url = reverse("cases:detail", args=[theirs.public_id])
    assert client.get(url).status_code == 404
    assert _denied() == [(intruder.user_id, "cases.Case", url)]


def test_a_visit_that_does_not_exist_is_a_404_without_an_event(client, intruder):
    assert client.get(reverse("cases:detail", args=[uuid.uuid4()])).status_code == 404
    assert _denied() == []


def test_the_patients_own_visit_records_no_event(client, intruder):
    mine = CaseFactory(patient=intruder)
    assert client.get(reverse("cases:detail", args=[mine.public_id])).status_code == 200
    assert _denied() == []


def test_another_patients_intake_document_and_request_are_recorded(client, intruder):
    theirs = CaseFactory()
    document = IdentityDocument.objects.create(
        patient=theirs.patient, kind="photo_id", stored_name="x.jpg", mime_type="image/jpeg", size=1
    )
    request = ActionRequest.objects.create(case=theirs, kind=ActionRequestKind.FILE_UPLOAD)
    urls = [
        reverse("cases:checkout", args=[theirs.payment.intake_response.public_id]),
        reverse("patients:document", args=[document.public_id]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404
    upload = reverse("cases:action_upload", args=[request.pk])
    assert client.post(upload, {}).status_code == 404
    assert sorted(detail for _, detail, _ in _denied()) == [
        "cases.ActionRequest",
        "intake.QuestionnaireResponse",
        "patients.IdentityDocument",
    ]


def test_a_staff_page_refused_with_403_is_recorded(client):
    staff = StaffUserFactory()  # staff, but in no group: may open the admin, nothing in it
    staff_login(client, staff)
    assert client.get(reverse("admin:cases_case_changelist")).status_code == 403
    event = SecurityEvent.objects.get(kind=SecurityEventKind.ADMIN_PERMISSION_DENIED)
    assert (event.user, event.detail) == (staff, "admin:cases_case_changelist")


@pytest.fixture
def support(client):
    user = StaffUserFactory()
    user.groups.add(Group.objects.get(name=SUPPORT_STAFF))
    return staff_login(client, user)


def test_support_reads_security_events_filtered_by_kind_and_finds_an_email(support):
    _login(support.__class__(), TYPED)
    post_mdi(support.__class__(), mdi_body("case_created"), secret="wrong")
    url = reverse("admin:core_securityevent_changelist")
    by_kind = support.get(url, {"kind": SecurityEventKind.WEBHOOK_REFUSED})
    assert by_kind.status_code == 200
    assert [e.kind for e in by_kind.context["cl"].result_list] == ["webhook_refused"]
    by_email = support.get(url, {"q": "dana.reyes@example.com"})
    assert [e.kind for e in by_email.context["cl"].result_list] == ["login_failed"]
    from django.utils import timezone

    this_year = support.get(url, {"at__year": timezone.now().year})
    assert len(this_year.context["cl"].result_list) == 2
    event = SecurityEvent.objects.first()
    change = reverse("admin:core_securityevent_change", args=[event.pk])
    assert support.get(change).status_code == 200
    assert support.post(change, {"detail": "x"}).status_code == 403
