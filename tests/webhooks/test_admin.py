import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from core.models import AccessLog
from core.roles import MEDICAL_ADVISORS, SUPPORT_STAFF
from tests.accounts.factories import StaffUserFactory
from tests.staff import staff_login
from webhooks.models import EventStatus, WebhookEvent

pytestmark = pytest.mark.django_db


def _staff_client(client, group: str):
    user = StaffUserFactory()
    user.groups.add(Group.objects.get(name=group))
    return staff_login(client, user), user


def test_support_reads_the_event_log_payload_and_case_timeline_and_access_is_logged(
    client, case, deliver, fake_mdi
):
    fake_mdi.cancels(case.mdi_case_id, reason="Not a candidate")
    deliver("case_assigned_to_clinician", case, timestamp=100)
    deliver("case_cancelled", case, timestamp=200, reason="Not a candidate")
    support, user = _staff_client(client, SUPPORT_STAFF)
    assert support.get(reverse("admin:webhooks_webhookevent_changelist")).status_code == 200
    event = WebhookEvent.objects.get(event_type="case_cancelled")
    page = support.get(
        reverse("admin:webhooks_webhookevent_change", args=[event.pk])
    ).content.decode()
    assert "&quot;reason&quot;: &quot;Not a candidate&quot;" in page  # pretty-printed, decrypted
    assert "case_assigned_to_clinician" in page and "Declined" in page  # the case's timeline
    assert AccessLog.objects.filter(
        actor=user, object_type="webhooks.WebhookEvent", object_id=str(event.pk)
    ).exists()


def test_support_finds_events_by_case_id_patient_email_and_filters_by_status(client, case, deliver):
    deliver("case_assigned_to_clinician", case)
    support, _ = _staff_client(client, SUPPORT_STAFF)
    url = reverse("admin:webhooks_webhookevent_changelist")
    for term in (case.mdi_case_id, case.patient.user.email, str(case.public_id)):
        assert support.get(url, {"q": term}).context["cl"].result_count == 1, term
    assert support.get(url, {"status__exact": EventStatus.FAILED}).context["cl"].result_count == 0


def test_the_log_is_read_only_even_for_support(client, case, deliver):
    deliver("case_assigned_to_clinician", case)
    support, _ = _staff_client(client, SUPPORT_STAFF)
    event = WebhookEvent.objects.get()
    assert (
        support.post(
            reverse("admin:webhooks_webhookevent_change", args=[event.pk]), {"status": "processed"}
        ).status_code
        == 403
    )
    assert (
        support.post(
            reverse("admin:webhooks_webhookevent_delete", args=[event.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert WebhookEvent.objects.count() == 1


def test_support_can_reprocess_from_the_admin(client, deliver, django_capture_on_commit_callbacks):
    deliver("case_assigned_to_clinician", case_id="mdi-unknown")
    event = WebhookEvent.objects.get()
    WebhookEvent.objects.filter(pk=event.pk).update(status=EventStatus.FAILED)
    from tests.cases.factories import CaseFactory

    case = CaseFactory(mdi_case_id="mdi-unknown")
    support, _ = _staff_client(client, SUPPORT_STAFF)
    with django_capture_on_commit_callbacks(execute=True):
        response = support.post(
            reverse("admin:webhooks_webhookevent_changelist"),
            {"action": "reprocess", "_selected_action": [event.pk]},
            follow=True,
        )
    assert "sent for processing" in response.content.decode()
    case.refresh_from_db()
    assert case.status == "under_review"


def test_advisors_cannot_see_webhooks_or_cases(client):
    advisor, _ = _staff_client(client, MEDICAL_ADVISORS)
    assert advisor.get(reverse("admin:webhooks_webhookevent_changelist")).status_code == 403
    assert advisor.get(reverse("admin:cases_case_changelist")).status_code == 403


def test_support_sees_cases_with_their_timeline_and_it_is_logged(client, case, deliver):
    deliver("case_approved", case)
    support, user = _staff_client(client, SUPPORT_STAFF)
    page = support.get(reverse("admin:cases_case_change", args=[case.pk])).content.decode()
    assert "case_approved" in page
    assert AccessLog.objects.filter(actor=user, object_type="cases.Case").exists()


def test_support_can_open_a_deeply_nested_malformed_event_without_a_500(client):
    from tests.webhooks.helpers import post_mdi

    body = b"[" * 1000 + b"]" * 1000
    assert post_mdi(client, body).status_code == 200
    event = WebhookEvent.objects.get(status=EventStatus.MALFORMED)
    support, _ = _staff_client(client, SUPPORT_STAFF)
    response = support.get(reverse("admin:webhooks_webhookevent_change", args=[event.pk]))
    assert response.status_code == 200
    assert "[[[[" in response.content.decode()  # shown as raw text, not pretty-printed
