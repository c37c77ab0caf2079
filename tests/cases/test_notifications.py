"""Notifications are sent: one per transition and channel, once, after commit, saying nothing
about the patient's health; failures retry, then wait for support's retry."""

import logging
import re
import smtplib

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import transaction
from django.urls import reverse

from cases.models import Notification, NotificationChannel, NotificationStatus, Prescription
from cases.services.notifications import notification_request, notification_tracking_url
from cases.services.submission import case_submit
from cases.tasks import NOTIFICATION_MAX_RETRIES
from core import sms
from core.models import AccessLog
from core.roles import SUPPORT_STAFF
from tests.accounts.factories import StaffUserFactory
from tests.cases.factories import CaseFactory
from tests.patients.factories import PatientFactory
from tests.staff import staff_login

pytestmark = pytest.mark.django_db

TRACKING = "1Z999AA10123456784"
DECLINE_REASON = "Not a candidate for finasteride"
# Words that would tell a reader of the inbox (or the lock screen) about the patient's care.
HEALTH_WORDS = [
    "finasteride",
    "hair",
    "not a candidate",
    "approved",
    "declined",
    "prescri",
    "pharmacy",
    "medication",
    "treatment",
    "cancel",
]


class FlakyBackend(EmailBackend):
    """The locmem backend behind a mail server that drops the next `failures` sends."""

    failures = 0

    def send_messages(self, messages):
        if FlakyBackend.failures:
            FlakyBackend.failures -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def case(db):
    return CaseFactory(patient=PatientFactory(identified=True))


def _ship(deliver, case, timestamp=500):
    deliver(
        "order_tracking_number_changed",
        case,
        timestamp=timestamp,
        order_status="received",
        order_details=f"Carrier: UPS\nTracking Number: {TRACKING}",
    )


# kind -> the MDI events that announce it (with anything they announce on the way).
FLOWS = {
    "more_info_requested": [("case_waiting", {})],
    "approved": [("case_approved", {})],
    "prescription_sent": [("case_completed", {})],
    "failed": [("order_status_changed", {"order_status": "failed"})],
    "delivered": [("case_order_updated", {"order_status": "delivered"})],
}
SUBJECTS = {
    "submitted": "We received your Thinclinic visit",
    "more_info_requested": "Your Thinclinic visit needs your reply",
    "message": "You have a new message about your Thinclinic visit",
    "approved": "An update on your Thinclinic visit",
    "prescription_sent": "An update on your Thinclinic visit",
    "shipped": "Your Thinclinic order has shipped",
    "delivered": "Your Thinclinic order was delivered",
    "declined": "An update on your Thinclinic visit",
    "cancelled": "An update on your Thinclinic visit",
    "failed": "An update on your Thinclinic visit",
}


def _assert_one_email_per_row(case):
    rows = list(Notification.objects.filter(case=case))
    assert rows and all(n.status == NotificationStatus.SENT and n.attempts == 1 for n in rows)
    assert sorted(m.subject for m in mail.outbox) == sorted(SUBJECTS[n.kind] for n in rows)
    for message in mail.outbox:
        assert message.to == [case.patient.user.email]
        # No name: an inbox is read by others, and a name beside our brand says who is treated.
        assert message.body.startswith("Hello,\n\nThere is an update on your visit.")
        assert "Dana" not in message.body and "Reyes" not in message.body
        assert f"http://127.0.0.1:8000/cases/{case.public_id}/" in message.body
    return {n.kind for n in rows}


@pytest.mark.parametrize("kind", FLOWS)
def test_each_transition_sends_one_email(case, deliver, kind):
    for t, (event_type, fields) in enumerate(FLOWS[kind]):
        deliver(event_type, case, timestamp=100 + t, **fields)
    assert kind in _assert_one_email_per_row(case)


def test_a_shipment_sends_one_email_with_the_carriers_tracking_link(case, deliver):
    _ship(deliver, case)
    assert _assert_one_email_per_row(case) == {"shipped"}
    assert f"https://www.ups.com/track?tracknum={TRACKING}" in mail.outbox[0].body


@pytest.mark.parametrize(("by", "kind"), [("Clinician", "declined"), ("Partner", "cancelled")])
def test_an_ending_sends_one_email(case, deliver, fake_mdi, by, kind):
    fake_mdi.cancels(case.mdi_case_id, reason=DECLINE_REASON, by=by)
    deliver("case_cancelled", case, timestamp=300, reason=DECLINE_REASON)
    assert _assert_one_email_per_row(case) == {kind}


def test_a_submitted_visit_sends_one_email(completed, django_capture_on_commit_callbacks):
    patient, response = completed
    with django_capture_on_commit_callbacks(execute=True):
        case = case_submit(patient=patient, response=response)
    with django_capture_on_commit_callbacks(execute=True):
        assert case_submit(patient=patient, response=response) == case  # a double click
    assert _assert_one_email_per_row(case) == {"submitted"}


def test_a_clinician_message_is_requested_through_the_service(
    case, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        assert notification_request(case=case, kind="message", key=f"message:{case.pk}:m-1")
        assert not notification_request(case=case, kind="message", key=f"message:{case.pk}:m-1")
    assert _assert_one_email_per_row(case) == {"message"}


def test_duplicate_and_resent_events_send_one_email(case, deliver):
    deliver("case_approved", case, timestamp=200)
    deliver("case_approved", case, timestamp=200)  # MDI redelivers the same event
    deliver("case_approved", case, timestamp=203)  # the clinician clicked twice
    deliver("case_processing", case, timestamp=206)
    _ship(deliver, case, timestamp=300)
    _ship(deliver, case, timestamp=301)
    assert [m.subject for m in mail.outbox] == [SUBJECTS["approved"], SUBJECTS["shipped"]]
    assert Notification.objects.count() == 2


def test_no_email_or_text_carries_health_information(case, deliver, fake_mdi):
    case.patient.notify_by_sms = True
    case.patient.save()
    deliver("case_created", case, timestamp=90)
    deliver("case_waiting", case, timestamp=95)
    deliver("case_approved", case, timestamp=100)
    deliver("offering_submitted", case, timestamp=110, offerings=[{"name": "Finasteride 1 mg"}])
    deliver("case_completed", case, timestamp=120)
    _ship(deliver, case, timestamp=130)
    deliver("case_order_updated", case, timestamp=140, order_status="delivered")
    other = CaseFactory(patient=case.patient)
    fake_mdi.cancels(other.mdi_case_id, reason=DECLINE_REASON)
    deliver("case_cancelled", other, timestamp=150, reason=DECLINE_REASON)
    assert len(mail.outbox) == len(sms.outbox) == 6
    texts = [f"{m.subject}\n{m.body}\n{m.alternatives[0].content}" for m in mail.outbox]
    texts += [t.body for t in sms.outbox]
    for text in texts:
        # The tracking number may appear only inside the tracking link.
        without_link = re.sub(r"https://www\.ups\.com/[^\s\"]+", "", text)
        assert TRACKING not in without_link
        assert not [word for word in HEALTH_WORDS if word in without_link.lower()], text
        assert "Reyes" not in text and "4155550123" not in text


def test_an_unknown_carrier_gets_a_search_link_and_no_number_no_link():
    assert notification_tracking_url(
        prescription=Prescription(tracking_number="AB12345", carrier="OnTrac")
    ) == ("https://www.google.com/search?q=OnTrac+AB12345")
    assert notification_tracking_url(prescription=Prescription(carrier="UPS")) == ""


def test_a_mail_server_failing_once_is_retried_and_sends_once(case, deliver, settings):
    settings.EMAIL_BACKEND = "tests.cases.test_notifications.FlakyBackend"
    FlakyBackend.failures = 1
    deliver("case_approved", case, timestamp=100)
    notification = Notification.objects.get()
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 2)
    assert len(mail.outbox) == 1


def _support_client(client):
    user = StaffUserFactory()
    user.groups.add(Group.objects.get(name=SUPPORT_STAFF))
    return staff_login(client, user)


def test_a_failing_mail_server_ends_failed_for_support_whose_retry_sends_once(
    case, deliver, settings, client, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.cases.test_notifications.FlakyBackend"
    FlakyBackend.failures = 100
    deliver("case_approved", case, timestamp=100)
    notification = Notification.objects.get()
    assert notification.status == NotificationStatus.FAILED
    assert notification.attempts == NOTIFICATION_MAX_RETRIES + 1  # bounded
    assert "Connection unexpectedly closed" in notification.last_error
    assert mail.outbox == []

    FlakyBackend.failures = 0
    support = _support_client(client)
    changelist = reverse("admin:cases_notification_changelist")
    assert support.get(changelist, {"status__exact": "failed"}).context["cl"].result_count == 1
    for _ in range(2):  # support clicks twice
        with django_capture_on_commit_callbacks(execute=True):
            response = support.post(
                changelist, {"action": "retry_sending", "_selected_action": [notification.pk]}
            )
        assert response.status_code == 302
    notification.refresh_from_db()
    assert (notification.status, notification.last_error) == (NotificationStatus.SENT, "")
    assert len(mail.outbox) == 1


def test_support_sees_each_visits_notifications_and_their_status(case, deliver, client):
    deliver("case_approved", case, timestamp=100)
    page = _support_client(client).get(reverse("admin:cases_case_change", args=[case.pk]))
    html = page.content.decode()
    inline = re.search(r"Notifications to the patient.*?</table>", html, re.S).group(0)
    assert "approved" in inline.lower() and "Sent" in inline and "Email" in inline
    notification = Notification.objects.get()
    detail = client.get(reverse("admin:cases_notification_change", args=[notification.pk]))
    assert detail.status_code == 200
    assert AccessLog.objects.filter(
        object_type__icontains="notification", patient_user_id=case.patient.user_id
    ).exists()


def test_a_patient_who_opted_into_texts_gets_one_text_per_transition(case, deliver):
    case.patient.notify_by_sms = True
    case.patient.save()
    deliver("case_approved", case, timestamp=100)
    deliver("case_approved", case, timestamp=101)
    keys = set(Notification.objects.values_list("key", "channel", "status"))
    assert keys == {
        (f"case:{case.pk}:approved", NotificationChannel.EMAIL, NotificationStatus.SENT),
        (f"case:{case.pk}:approved:sms", NotificationChannel.SMS, NotificationStatus.SENT),
    }
    assert [(t.to, t.reference) for t in sms.outbox] == [
        ("4155550123", f"notification {Notification.objects.get(channel='sms').pk}")
    ]
    assert sms.outbox[0].body.startswith("Thinclinic: there is an update on your visit.")
    assert len(mail.outbox) == 1


def test_without_the_preferences_there_is_no_text_and_no_email(case, deliver):
    deliver("case_approved", case, timestamp=100)
    assert not Notification.objects.filter(channel=NotificationChannel.SMS).exists()
    case.patient.notify_by_email = False
    case.patient.save()
    deliver("case_completed", case, timestamp=110)
    assert list(Notification.objects.values_list("kind", flat=True)) == ["approved"]
    assert sms.outbox == [] and len(mail.outbox) == 1


def test_the_console_sms_backend_logs_neither_number_nor_words(settings, caplog):
    settings.SMS_BACKEND = "core.sms.ConsoleSmsBackend"
    with caplog.at_level(logging.INFO, logger="core.sms"):
        sms.send_sms(to="4155550123", body="secret words", reference="notification 7")
    assert caplog.messages == ["SMS sent for notification 7"]


def test_the_preferences_page_needs_a_sign_in(client):
    url = reverse("patients:notification_preferences")
    assert client.get(url).url.startswith(reverse("accounts:login"))


def test_the_preferences_page_saves_and_keeps_input_on_error(patient_client, user):
    url = reverse("patients:notification_preferences")
    page = patient_client.get(url)
    assert page.status_code == 200 and page.context["form"]["notify_by_email"].value() is True
    wrong = patient_client.post(url, {"notify_by_sms": "on", "phone": "555 01"})
    assert wrong.status_code == 200
    form = wrong.context["form"]
    assert form.errors["phone"] and form["phone"].value() == "555 01"
    assert form["notify_by_sms"].value() is True
    missing = patient_client.post(url, {"notify_by_sms": "on"})
    assert "Please enter the mobile number" in missing.content.decode()
    saved = patient_client.post(url, {"notify_by_sms": "on", "phone": "(415) 555-0199"})
    assert saved.url == url
    user.patient.refresh_from_db()
    assert (user.patient.notify_by_email, user.patient.notify_by_sms, user.patient.phone) == (
        False,
        True,
        "4155550199",
    )


def test_a_send_task_delivered_twice_sends_one_email(case, deliver):
    from cases.tasks import notification_send_task

    deliver("case_approved", case, timestamp=100)
    notification = Notification.objects.get()
    assert notification_send_task.delay(notification_id=notification.pk).get() == "skipped"
    assert len(mail.outbox) == 1


def test_a_notification_whose_task_was_lost_is_sent_once_by_the_sweeper(case, deliver, monkeypatch):
    """Redis down while the approval was processed: the notification row waits, and the
    sweeper sends it once the broker is back; sweeping again sends nothing more."""
    import datetime

    from django.utils import timezone

    from cases.services import notifications
    from cases.tasks import notifications_sweep_task

    monkeypatch.setattr(notifications, "_enqueue", lambda notification_id: None)  # lost
    deliver("case_approved", case, timestamp=100)
    notification = Notification.objects.get()
    assert (notification.status, len(mail.outbox)) == (NotificationStatus.PENDING, 0)
    monkeypatch.undo()  # the broker is back
    assert notifications.notifications_sweep() == 0  # too recent: its task may still run
    later = timezone.now() + notifications.SWEEP_AFTER + datetime.timedelta(seconds=1)
    assert notifications.notifications_sweep(now=later) == 1
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert notifications.notifications_sweep(now=later) == 0
    assert notifications_sweep_task.delay().get() == 0
    assert len(mail.outbox) == 1
