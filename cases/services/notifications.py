"""Telling the patient that a visit changed, once per transition and channel.

A row is created in the transaction of the change it announces (its unique key stops a second
one) and sent after commit by `notification_send_task`. Messages say only that there is news
and where to sign in: the first name is the one personal detail, and a shipment's tracking
link the one detail of the order. No medication, condition, reason or outcome, ever.
"""

import datetime
import logging
import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_fsm import can_proceed

from cases.models import (
    Case,
    Notification,
    NotificationChannel,
    NotificationKind,
    NotificationStatus,
    Prescription,
)
from cases.wording import tracking_url
from core.exceptions import TransientError
from core.sms import send_sms
from core.tasks import task_enqueue

logger = logging.getLogger(__name__)

# Subjects name the brand and the kind of news, never its content ("approved" is clinical).
SUBJECTS: dict[str, str] = {
    NotificationKind.SUBMITTED: "We received your {site} visit",
    NotificationKind.MORE_INFO_REQUESTED: "Your {site} visit needs your reply",
    NotificationKind.MESSAGE: "You have a new message about your {site} visit",
    NotificationKind.APPROVED: "An update on your {site} visit",
    NotificationKind.PRESCRIPTION_SENT: "An update on your {site} visit",
    NotificationKind.SHIPPED: "Your {site} order has shipped",
    NotificationKind.DELIVERED: "Your {site} order was delivered",
    NotificationKind.DECLINED: "An update on your {site} visit",
    NotificationKind.CANCELLED: "An update on your {site} visit",
    NotificationKind.FAILED: "An update on your {site} visit",
}
# Mail servers and networks fail for a while; these are worth another try.
TRANSIENT_ERRORS = (smtplib.SMTPException, OSError, TransientError)


def notification_request(*, case: Case, kind: str, key: str) -> bool:
    """Ask for the patient to be told about `kind` (one of NotificationKind), once per `key`:
    an email, and a text when they opted into texts. Call inside the transaction of the
    change it announces; sending runs after commit. A second call with the same key (a
    duplicate or re-sent event) adds nothing. Returns whether this call created a row."""
    patient = case.patient
    keys = []
    if patient.notify_by_email:
        keys.append((NotificationChannel.EMAIL, key))
    if patient.notify_by_sms and patient.phone:
        keys.append((NotificationChannel.SMS, f"{key}:sms"))
    created_any = False
    for channel, row_key in keys:
        notification, created = Notification.objects.get_or_create(
            key=row_key, defaults={"case": case, "kind": kind, "channel": channel}
        )
        if created:
            created_any = True
            transaction.on_commit(
                lambda notification_id=notification.pk: _enqueue(notification_id), robust=True
            )
    return created_any


def _enqueue(notification_id: int) -> None:
    from cases.tasks import notification_send_task

    task_enqueue(notification_send_task, notification_id=notification_id)  # down: the sweeper


# A notification never attempted this long after it was asked for lost its task (Redis was
# down when it was enqueued, or lost its queue); the sweeper queues it again.
SWEEP_AFTER = datetime.timedelta(minutes=2)


def notifications_sweep(*, now: datetime.datetime | None = None) -> int:
    """Queue again the notifications whose task never ran. Sending locks the row and skips
    anything no longer pending, so one queued twice is still sent once. Returns how many."""
    now = now or timezone.now()
    ids = list(
        Notification.objects.filter(
            status=NotificationStatus.PENDING, attempts=0, created_at__lte=now - SWEEP_AFTER
        ).values_list("pk", flat=True)[:500]
    )
    for notification_id in ids:
        _enqueue(notification_id)
    return len(ids)


def _visit_url(case: Case) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("cases:detail", args=[case.public_id])


def notification_tracking_url(*, prescription: Prescription | None) -> str:
    """The shipment's tracking link for the shipped email; "" when there is none yet."""
    if prescription is None:
        return ""
    return tracking_url(carrier=prescription.carrier, number=prescription.tracking_number)


def _context(notification: Notification) -> dict[str, str]:
    case = notification.case
    prescription = Prescription.objects.filter(case=case).first()
    return {
        "site_name": settings.SITE_NAME,
        "visit_url": _visit_url(case),
        "tracking_url": (
            notification_tracking_url(prescription=prescription)
            if notification.kind == NotificationKind.SHIPPED
            else ""
        ),
    }


def notification_render(*, notification: Notification) -> tuple[str, str, str]:
    """(subject, text body, html body) for the channel; a text message has only the body."""
    context = _context(notification)
    if notification.channel == NotificationChannel.SMS:
        return "", render_to_string("cases/emails/notification_sms.txt", context).strip(), ""
    subject = SUBJECTS.get(notification.kind, "An update on your {site} visit")
    return (
        subject.format(site=settings.SITE_NAME),
        render_to_string("cases/emails/notification.txt", context),
        render_to_string("cases/emails/notification.html", context),
    )


def _deliver(notification: Notification) -> None:
    patient = notification.case.patient
    subject, body, html = notification_render(notification=notification)
    if notification.channel == NotificationChannel.SMS:
        if not patient.phone:
            raise ValueError("the patient has no phone number")
        send_sms(to=patient.phone, body=body, reference=f"notification {notification.pk}")
        return
    if not patient.user.email:
        raise ValueError("the patient has no email address")
    email = EmailMultiAlternatives(subject=subject, body=body, to=[patient.user.email])
    email.attach_alternative(html, "text/html")
    email.send()


def notification_send(*, notification_id: int) -> str:
    """Send one notification. The row stays locked while it is sent, so a second task (a
    redelivery, support's retry) waits and then finds it sent. Returns "sent", "skipped"
    (already sent, or failed and not requeued) or "failed" (it cannot be sent: support sees
    why). Raises TransientError after recording the attempt when a retry may succeed."""
    transient: Exception | None = None
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update()
            .select_related("case__patient__user")
            .get(pk=notification_id)
        )
        if notification.status != NotificationStatus.PENDING:
            return "skipped"
        notification.attempts += 1
        try:
            _deliver(notification)
        except TRANSIENT_ERRORS as exc:
            logger.warning("notification %s not sent yet: %s", notification_id, type(exc).__name__)
            transient = exc
            notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        except Exception as exc:  # a template or data problem: retrying cannot help
            logger.exception("notification %s cannot be sent", notification_id)
            notification.mark_failed(reason=f"{type(exc).__name__}: {exc}"[:2000])
        else:
            notification.mark_sent()
        notification.save()
    if transient is not None:
        raise TransientError(str(transient)) from transient
    return notification.status if notification.status == NotificationStatus.SENT else "failed"


def notification_mark_failed(*, notification_id: int, reason: str) -> bool:
    """The retries ran out: support sees it failed, and why. Safe to repeat."""
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=notification_id)
        if not can_proceed(notification.mark_failed):
            return False
        notification.mark_failed(reason=(notification.last_error or reason)[:2000])
        notification.save()
    return True


def notification_retry(*, notification: Notification) -> bool:
    """Support's retry: a failed notification goes back to pending and is sent again after
    commit; a pending one (its task was lost) is enqueued again. A sent one is left alone, so
    repeating the retry never sends a second message. Returns whether a send was queued."""
    with transaction.atomic():
        locked = Notification.objects.select_for_update().get(pk=notification.pk)
        if locked.status == NotificationStatus.SENT:
            return False
        if can_proceed(locked.requeue):
            locked.requeue()
            locked.save()
        transaction.on_commit(
            lambda notification_id=locked.pk: _enqueue(notification_id), robust=True
        )
    return True
