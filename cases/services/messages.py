"""The patient's conversation with MDI's care team, and the clinician's requests for more.

- Incoming: `message_created` names a message, not its text. A preparer fetches the patient's
  messages once per MDI message id (outside any transaction); the handler stores the row.
- Outgoing: the row is saved first (sending), then a task after commit sends it. A send is a
  create at MDI: an unknown outcome is reconciled (list the messages, match text and time)
  before anything is sent again, so a retry never leaves a second copy at MDI.
- Requests (case_waiting, file_upload_requested, drivers_license_requested) open an
  ActionRequest; an upload answers one, and the case moving on closes them all.
"""

import datetime
import json
import logging
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_fsm import can_proceed

from cases.mdi_client import MdiClient, MdiMessage, MdiOutcomeUnknown
from cases.models import (
    ActionRequest,
    ActionRequestKind,
    Case,
    CaseMessage,
    CaseStatus,
    MessageDirection,
    MessageSender,
    MessageStatus,
)
from cases.services.notifications import notification_request
from core.exceptions import PermanentError, TransientError
from core.tasks import task_enqueue
from core.uploads import IMAGE_TYPES, upload_open, upload_sanitize, upload_store
from patients.models import Patient
from patients.services import identity_document_link_mdi_file, identity_document_upload
from webhooks.models import WebhookEvent

logger = logging.getLogger(__name__)

MESSAGE_MAX_LENGTH = 5000
# How far MDI's clock may be from ours when we look for a send whose reply was lost.
RECONCILE_SLACK = datetime.timedelta(minutes=2)
ACTION_EVENTS = {
    "case_waiting": ActionRequestKind.MORE_INFO,
    "file_upload_requested": ActionRequestKind.FILE_UPLOAD,
    "drivers_license_requested": ActionRequestKind.DRIVERS_LICENSE,
}
# Where MDI might put the clinician's question in a request's payload (undocumented; we look).
QUESTION_KEYS = ("message", "question", "text", "reason", "description", "note")


def _payload(event: WebhookEvent) -> dict[str, Any]:
    try:
        payload = json.loads(event.raw_body)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _sender(user_type: str) -> str:
    r"""MDI's `user_type` is a model class name such as "App\Models\Clinician". Anything that
    is not the patient speaks for the care team; only a clinician is called one."""
    lowered = user_type.lower()
    if "patient" in lowered:
        return MessageSender.PATIENT
    if "clinician" in lowered:
        return MessageSender.CLINICIAN
    return MessageSender.SUPPORT


def _parse_time(value: str) -> datetime.datetime | None:
    try:
        moment = parse_datetime(value or "")
    except ValueError:
        return None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, datetime.UTC)
    return moment


def _latest_case(patient_id: str) -> Case | None:
    """The patient's most recent visit MDI knows (messages belong to the patient at MDI)."""
    return (
        Case.objects.filter(patient__mdi_patient_id=patient_id, mdi_case_id__isnull=False)
        .exclude(patient__mdi_patient_id="")
        .order_by("-created_at", "-pk")
        .first()
    )


def _notify_message(case: Case, mdi_message_id: str) -> None:
    """One notice per clinician or support message, however often MDI announces it."""
    notification_request(case=case, kind="message", key=f"message:{mdi_message_id}")


# --- incoming: message_created ---------------------------------------------------------------
def case_message_lookup(*, event: WebhookEvent, client: MdiClient) -> dict[str, str]:
    """Before a `message_created` event is applied: the message itself, from MDI. Runs outside
    any transaction. A message we already hold (a second event for it, or our own message
    coming back) is not fetched again. An outage raises TransientError (the event is retried)."""
    payload = _payload(event)
    message_id = str(payload.get("message_id") or "")
    patient_id = str(payload.get("patient_id") or "")
    if not message_id or not patient_id:
        return {}
    if CaseMessage.objects.filter(mdi_message_id=message_id).exists():
        return {"known": message_id}
    found = next(
        (m for m in client.patient_messages(patient_id=patient_id) if m.id == message_id), None
    )
    if found is None:
        return {"missing": message_id}
    return {
        "id": found.id,
        "text": found.text,
        "user_type": found.user_type or str(payload.get("user_type") or ""),
        "created_at": found.created_at,
        "patient_id": patient_id,
    }


def _own_unconfirmed(case: Case, text: str) -> CaseMessage | None:
    """Our outgoing message whose send MDI has not confirmed to us yet, with this text."""
    candidates = CaseMessage.objects.select_for_update().filter(
        case=case,
        direction=MessageDirection.OUT,
        mdi_message_id__isnull=True,
        status__in=[MessageStatus.SENDING, MessageStatus.FAILED],
    )
    return next((m for m in candidates.order_by("pk") if m.text == text), None)


def case_message_store(*, event: WebhookEvent) -> str:
    """Store the message the preparer fetched. Runs in the event's transaction; no network.
    Safe to repeat: the MDI id is unique, and our own message coming back is matched to its
    row (by id, or by text while our send is unconfirmed) rather than copied."""
    context = event.context or {}
    message_id = context.get("id")
    if not message_id:
        return "known" if context.get("known") else "no_message"
    if CaseMessage.objects.filter(mdi_message_id=message_id).exists():
        return "known"
    case = _latest_case(context["patient_id"])
    if case is None:
        return "no_case"
    sender = _sender(context.get("user_type", ""))
    sent_at = _parse_time(context.get("created_at", "")) or event.received_at
    if sender == MessageSender.PATIENT and (own := _own_unconfirmed(case, context["text"])):
        own.send_succeed(mdi_message_id=message_id, sent_at=sent_at)
        own.save()
        return "applied"
    CaseMessage.objects.create(
        case=case,
        mdi_message_id=message_id,
        direction=MessageDirection.OUT if sender == MessageSender.PATIENT else MessageDirection.IN,
        sender=sender,
        text=context.get("text", ""),
        sent_at=sent_at,
        status=MessageStatus.SENT if sender == MessageSender.PATIENT else MessageStatus.RECEIVED,
    )
    if sender != MessageSender.PATIENT:
        _question_fill(case, context.get("text", ""))
        _notify_message(case, message_id)
    return "applied"


# --- outgoing: the patient's reply -----------------------------------------------------------
def case_message_create(*, case: Case, text: str, photo: UploadedFile | None = None) -> CaseMessage:
    """Save the patient's reply (sending) and send it after commit. A photo is validated and
    stored first (raises core.uploads.UploadRejected with a patient message), so a refused
    file leaves no message behind."""
    from cases.tasks import case_message_send_task

    clean = upload_sanitize(uploaded=photo, allowed_types=IMAGE_TYPES) if photo else None
    stored_name = upload_store(sanitized=clean, folder="messages") if clean else ""
    with transaction.atomic():
        message = CaseMessage(
            case=case,
            direction=MessageDirection.OUT,
            sender=MessageSender.PATIENT,
            text=text.strip()[:MESSAGE_MAX_LENGTH],
            sent_at=timezone.now(),
            photo_stored_name=stored_name,
            photo_mime_type=clean.mime_type if clean else "",
        )
        message.full_clean(exclude=["status"])  # protected: only transitions move it
        message.save()
        transaction.on_commit(
            lambda pk=message.pk: task_enqueue(case_message_send_task, message_id=pk), robust=True
        )
    return message


def case_message_retry(*, message: CaseMessage) -> bool:
    """The patient's "Retry" on a failed message: back to sending, sent again after commit.
    A second click (or a message already sent) changes nothing. Returns whether it queued."""
    from cases.tasks import case_message_send_task

    with transaction.atomic():
        message = CaseMessage.objects.select_for_update().get(pk=message.pk)
        if not can_proceed(message.send_retry):
            return False
        message.send_retry()
        message.save()
        transaction.on_commit(
            lambda pk=message.pk: task_enqueue(case_message_send_task, message_id=pk), robust=True
        )
    return True


def _reconcile(message: CaseMessage, patient_id: str, client: MdiClient) -> MdiMessage | None:
    """The message MDI holds that is this one: the patient's, same text, sent between our
    first attempt and now, and not already another row's. None when MDI has none."""
    earliest = (message.sent_at or message.created_at) - RECONCILE_SLACK
    latest = timezone.now() + RECONCILE_SLACK
    taken = set(
        CaseMessage.objects.filter(case__patient=message.case.patient)
        .exclude(pk=message.pk)
        .exclude(mdi_message_id__isnull=True)
        .values_list("mdi_message_id", flat=True)
    )
    for found in client.patient_messages(patient_id=patient_id):
        moment = _parse_time(found.created_at)
        if (
            _sender(found.user_type) == MessageSender.PATIENT
            and found.text == message.text
            and found.id not in taken
            and moment is not None
            and earliest <= moment <= latest
        ):
            return found
    return None


def _finish(message_id: int, *, found: MdiMessage | None, error: str, unknown: bool) -> None:
    """Record the outcome under the row lock. MDI's id may already be on another row (its
    echo arrived first and matched nothing): that row is the same message, so it goes."""
    with transaction.atomic():
        message = CaseMessage.objects.select_for_update().get(pk=message_id)
        if found is not None:
            if message.status == MessageStatus.SENT:
                return  # the echo confirmed it first
            CaseMessage.objects.filter(mdi_message_id=found.id).exclude(pk=message.pk).delete()
            message.send_succeed(mdi_message_id=found.id, sent_at=_parse_time(found.created_at))
        elif message.status == MessageStatus.SENDING:
            message.send_fail(reason=error, outcome_unknown=unknown)
        message.save()


def case_message_send(*, message_id: int, client: MdiClient) -> CaseMessage:
    """Send one outgoing message to MDI; the task after commit calls this. Safe to repeat:
    only a message in "sending" is sent, its photo is uploaded once, and a message whose
    earlier send had an unknown outcome is looked for at MDI before it is sent again.
    A transient failure leaves it failed with a Retry for the patient."""
    with transaction.atomic():
        message = (
            CaseMessage.objects.select_for_update()
            .select_related("case__patient")
            .get(pk=message_id)
        )
        if message.status != MessageStatus.SENDING:
            return message
        CaseMessage.objects.filter(pk=message.pk).update(send_attempts=message.send_attempts + 1)
    patient_id = message.case.patient.mdi_patient_id
    found, error, unknown = None, "", False
    try:
        if not patient_id:
            raise PermanentError("the patient is not known to MDI yet")
        if message.is_outcome_unknown:
            found = _reconcile(message, patient_id, client)
        if found is None:
            if message.photo_stored_name and not message.mdi_file_id:
                message.mdi_file_id = client.file_upload(
                    content=upload_open(name=message.photo_stored_name),
                    name=f"message-photo{message.photo_stored_name[-4:]}",
                    mime_type=message.photo_mime_type,
                    file_type="photo",
                )
                # Saved at once: a later attempt attaches this file instead of uploading again.
                CaseMessage.objects.filter(pk=message.pk).update(mdi_file_id=message.mdi_file_id)
            try:
                found = client.patient_message_send(
                    patient_id=patient_id,
                    text=message.text,
                    file_ids=[message.mdi_file_id] if message.mdi_file_id else None,
                )
            except MdiOutcomeUnknown:
                unknown = True  # MDI may hold it: look now, and again before any re-send
                CaseMessage.objects.filter(pk=message.pk).update(is_outcome_unknown=True)
                found = _reconcile(message, patient_id, client)
                if found is None:
                    raise
    except (TransientError, PermanentError) as exc:
        logger.warning("message %s not sent: %s", message.pk, exc)
        error = str(exc) or type(exc).__name__
    _finish(message.pk, found=found, error=error, unknown=unknown)
    return CaseMessage.objects.get(pk=message.pk)


# --- requests for more information -----------------------------------------------------------
def _question_fill(case: Case, text: str) -> None:
    """A clinician's message answers "what does the clinician want" for an open request for
    more information that came without a question (the text is encrypted: checked in Python)."""
    open_requests = ActionRequest.objects.filter(
        case=case, kind=ActionRequestKind.MORE_INFO, closed_at__isnull=True
    )
    if ids := [row.pk for row in open_requests if not row.question]:
        ActionRequest.objects.filter(pk__in=ids).update(question=text[:MESSAGE_MAX_LENGTH])


def _request_case(event: WebhookEvent, payload: dict[str, Any]) -> Case | None:
    mdi_case_id = event.external_id or str(payload.get("case_id") or "")
    if mdi_case_id and (case := Case.objects.filter(mdi_case_id=mdi_case_id).first()):
        return case
    patient_id = str(payload.get("patient_id") or "")
    return _latest_case(patient_id) if patient_id else None


def _question(case: Case, payload: dict[str, Any]) -> str:
    for key in QUESTION_KEYS:
        if isinstance(value := payload.get(key), str) and value.strip():
            return value.strip()[:MESSAGE_MAX_LENGTH]
    latest = (
        case.messages.filter(direction=MessageDirection.IN, sender=MessageSender.CLINICIAN)
        .order_by("-sent_at", "-pk")
        .first()
    )
    return latest.text if latest else ""


def action_request_open(*, event: WebhookEvent) -> str:
    """Open a request for the event's kind. Runs in the event's transaction (after the case
    handler for case_waiting). One open request per case and kind; an event no newer than
    one already seen (a replay, a re-send) opens nothing; a case_waiting the case handler
    found stale opens nothing either."""
    kind = ACTION_EVENTS[event.event_type]
    payload = _payload(event)
    case = _request_case(event, payload)
    if case is None:
        return "no_case"
    case = Case.objects.select_for_update().get(pk=case.pk)
    if kind == ActionRequestKind.MORE_INFO and case.status != CaseStatus.MORE_INFO_REQUESTED:
        return "not_waiting"
    requests = ActionRequest.objects.filter(case=case, kind=kind)
    if requests.filter(closed_at__isnull=True).exists():
        return "already_open"
    timestamp = event.provider_timestamp
    if timestamp is not None and requests.filter(requested_at__gte=timestamp).exists():
        return "stale"
    ActionRequest.objects.create(
        case=case, kind=kind, question=_question(case, payload), requested_at=timestamp
    )
    return "applied"


def case_action_requests_close(*, case: Case) -> int:
    """Close every open request of the case (it moved on). Safe to repeat. Returns how many."""
    return ActionRequest.objects.filter(case=case, closed_at__isnull=True).update(
        closed_at=timezone.now()
    )


def action_request_upload(*, action: ActionRequest, uploaded: UploadedFile) -> ActionRequest:
    """The patient's file for an upload request: validated and stored now (raises
    core.uploads.UploadRejected with a patient message), sent to MDI after commit. A photo ID
    goes through the patients app's own upload rules."""
    from cases.tasks import action_request_upload_task

    patient: Patient = action.case.patient
    if action.kind == ActionRequestKind.DRIVERS_LICENSE:
        document = identity_document_upload(patient=patient, uploaded=uploaded)
        changes = {"document": document, "stored_name": "", "mime_type": document.mime_type}
    else:
        clean = upload_sanitize(uploaded=uploaded, allowed_types=IMAGE_TYPES)
        name = upload_store(sanitized=clean, folder="case-files")
        changes = {"document": None, "stored_name": name, "mime_type": clean.mime_type}
    with transaction.atomic():
        action = ActionRequest.objects.select_for_update().get(pk=action.pk)
        if action.closed_at is None:
            for field, value in changes.items():
                setattr(action, field, value)
            action.mdi_file_id = ""  # a new file replaces one an earlier attempt uploaded
            action.upload_error = ""
            action.save()
            transaction.on_commit(
                lambda pk=action.pk: task_enqueue(action_request_upload_task, action_id=pk),
                robust=True,
            )
    return action


def action_request_upload_send(*, action_id: int, client: MdiClient) -> ActionRequest:
    """Send the stored answer to MDI: upload the file (once: its id is saved at once), then
    set it as the MDI patient's driver_license_id (a PATCH) or attach it to the case (safe
    to repeat). The request closes when that is done; a failure is kept for the patient."""
    action = ActionRequest.objects.select_related("case__patient", "document").get(pk=action_id)
    if action.closed_at is not None or not (action.document_id or action.stored_name):
        return action
    case, patient = action.case, action.case.patient
    try:
        if action.kind == ActionRequestKind.DRIVERS_LICENSE:
            document = action.document
            if not document.mdi_file_id:
                file_id = client.file_upload(
                    content=upload_open(name=document.stored_name),
                    name=f"photo-id{document.stored_name[-4:]}",
                    mime_type=document.mime_type,
                    file_type="driver-license",
                )
                identity_document_link_mdi_file(document=document, mdi_file_id=file_id)
            client.patient_update(
                patient_id=patient.mdi_patient_id,
                payload={"driver_license_id": document.mdi_file_id},
            )
        else:
            if not action.mdi_file_id:
                action.mdi_file_id = client.file_upload(
                    content=upload_open(name=action.stored_name),
                    name=f"case-photo{action.stored_name[-4:]}",
                    mime_type=action.mime_type,
                    file_type="photo",
                )
                ActionRequest.objects.filter(pk=action.pk).update(mdi_file_id=action.mdi_file_id)
            client.case_attach_file(case_id=case.mdi_case_id, file_id=action.mdi_file_id)
    except (TransientError, PermanentError) as exc:
        logger.warning("upload for request %s not sent: %s", action.pk, exc)
        ActionRequest.objects.filter(pk=action.pk).update(
            upload_error=(str(exc) or type(exc).__name__)[:255]
        )
        return ActionRequest.objects.get(pk=action.pk)
    ActionRequest.objects.filter(pk=action.pk, closed_at__isnull=True).update(
        closed_at=timezone.now(), upload_error=""
    )
    return ActionRequest.objects.get(pk=action.pk)
