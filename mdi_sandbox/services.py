"""What the sandbox does when the partner API or the clinician console acts on a case.

Each clinician or pharmacy action changes the sandbox case and emits exactly the webhook(s) MDI
would (reference §8): a flat JSON envelope serialised like PHP's json_encode (escaped "/"),
signed with the first MDI_WEBHOOK_SECRET as lowercase hex HMAC-SHA256 over those exact bytes,
with the first MDI_WEBHOOK_AUTHORIZATION. Sending happens after commit, never under a lock.
"""

import hashlib
import hmac
import json
import time
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.exceptions import DomainError
from mdi_sandbox.models import (
    CLINICIAN,
    PARTNER,
    SUPPORT,
    SandboxCase,
    SandboxCaseStatus,
    SandboxFile,
    SandboxMessage,
    SandboxPatient,
    SandboxWebhook,
)

# Tests route the sandbox's webhooks straight into our app (httpx.WSGITransport); None = network.
WEBHOOK_TRANSPORT: httpx.BaseTransport | None = None

# console action -> (new sandbox status, [(event_type, extra fields)])
ACTIONS: dict[str, tuple[str | None, list[str]]] = {
    "assign": ("assigned", ["case_assigned_to_clinician"]),
    "request_info": ("waiting", ["case_waiting"]),
    "support": ("support", ["case_transferred_to_support"]),
    "approve": ("processing", ["case_approved", "case_processing"]),
    "prescribe": ("completed", ["offering_submitted", "case_completed"]),
    "decline": ("cancelled", ["case_cancelled"]),
    "support_cancel": ("cancelled", ["case_cancelled"]),
    "order_received": (None, ["case_order_created", "order_status_changed"]),
    "order_filled": (None, ["order_status_changed"]),
    "order_shipped": (None, ["order_tracking_number_changed"]),
    "order_delivered": (None, ["order_status_changed"]),
    "order_failed": (None, ["order_status_changed"]),
}
ORDER_STATUS_FOR_ACTION = {
    "order_received": "received",
    "order_filled": "ready",
    "order_shipped": "received",  # MDI keeps "received" while adding a tracking number (§9)
    "order_delivered": "completed",
    "order_failed": "failed",
}
# Who MDI reports as having moved the case; every other action is the clinician's (or the
# pharmacy's, which changes no case status).
ACTOR_FOR_ACTION = {"support_cancel": SUPPORT}
REASON_ACTIONS = {"request_info", "decline", "support_cancel"}
DEFAULT_CANCEL_REASON = {
    CLINICIAN: "The clinician decided this treatment is not right for you.",
    SUPPORT: "MDI support cancelled this case.",
    PARTNER: "The partner cancelled this case.",
}


def php_json(payload: dict[str, Any]) -> bytes:
    return (
        json.dumps(payload, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()
    )


def sign(body: bytes, *, bad: bool = False) -> dict[str, str]:
    secret = ("not-the-secret" if bad else settings.MDI_WEBHOOK_SECRET[0]).encode()
    return {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Authorization": settings.MDI_WEBHOOK_AUTHORIZATION[0],
        "Signature": hmac.new(secret, body, hashlib.sha256).hexdigest(),
    }


def _next_timestamp(case: SandboxCase) -> int:
    case.last_event_timestamp = max(int(time.time()), case.last_event_timestamp + 1)
    return case.last_event_timestamp


def _envelope(case: SandboxCase, event_type: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"event_type": event_type, "timestamp": _next_timestamp(case)}
    if (
        event_type.startswith("case_")
        or event_type.startswith("order_")
        or event_type == "offering_submitted"
    ):
        body.update(
            {"case_id": case.case_id, "encounter_id": case.case_id, "metadata": case.metadata}
        )
    else:
        body.update(
            {
                "patient_id": case.patient.patient_id,
                "metadata": case.patient.payload.get("metadata", ""),
            }
        )
    body.update(extra)
    return body


def webhook_queue(
    *,
    case: SandboxCase | None,
    payload: dict[str, Any],
    bad_signature: bool = False,
    held: bool = False,
) -> SandboxWebhook:
    """Record one webhook and send it after commit (unless held for a later delivery)."""
    hook = SandboxWebhook.objects.create(
        case=case,
        event_type=payload["event_type"],
        body=php_json(payload),
        bad_signature=bad_signature,
        is_held=held,
    )
    if not held:
        transaction.on_commit(
            lambda webhook_id=hook.pk: webhook_deliver(webhook_id=webhook_id), robust=True
        )
    return hook


def webhook_deliver(*, webhook_id: int) -> SandboxWebhook:
    """POST the exact stored bytes to our webhook endpoint and record the answer."""
    hook = SandboxWebhook.objects.get(pk=webhook_id)
    body = bytes(hook.body)
    try:
        with httpx.Client(transport=WEBHOOK_TRANSPORT, timeout=10.0) as client:
            response = client.post(
                settings.MDI_SANDBOX_WEBHOOK_URL,
                content=body,
                headers=sign(body, bad=hook.bad_signature),
            )
        hook.response_status, hook.error = response.status_code, ""
    except httpx.HTTPError as exc:
        hook.response_status, hook.error = None, type(exc).__name__
    hook.is_held = False
    hook.sent_at = timezone.now()
    hook.save(update_fields=["response_status", "error", "is_held", "sent_at"])
    return hook


def _status_record(*, case: SandboxCase, reason: str, user_type: str) -> SandboxCaseStatus:
    """The history row GET /cases/{id}/statuses lists, for the status the case just entered."""
    return SandboxCaseStatus.objects.create(
        case=case, name=case.status, reason=reason or None, user_type=user_type
    )


def sandbox_patient_save(
    *, patient: SandboxPatient | None, fields: dict[str, Any]
) -> SandboxPatient:
    """Create (patient None) or partially update a sandbox patient from validated partner JSON.

    The driver license is kept as a file reference, the rest as the partner sent it. Raises
    IntegrityError when the email belongs to another patient."""
    fields = dict(fields)
    has_license = "driver_license_id" in fields
    license_id = fields.pop("driver_license_id", None)
    if patient is None:
        patient = SandboxPatient(payload={})
    payload = {**patient.payload, **fields}
    if isinstance(fields.get("address"), dict):
        payload["address"] = {**(patient.payload.get("address") or {}), **fields["address"]}
    patient.payload = payload
    patient.email = str(payload.get("email", ""))
    if has_license:
        patient.driver_license = SandboxFile.objects.get(file_id=license_id) if license_id else None
    with transaction.atomic():
        patient.save()
    return patient


@transaction.atomic
def sandbox_case_create(*, patient: SandboxPatient, payload: dict[str, Any]) -> SandboxCase:
    """A partner's new case: stored, its first status recorded, case_created queued."""
    case = SandboxCase.objects.create(
        patient=patient,
        metadata=str(payload.get("metadata", "")),
        payload=payload,
        file_ids=list(payload.get("case_files") or []),
    )
    _status_record(case=case, reason="", user_type=PARTNER)
    webhook_queue(case=case, payload=_envelope(case, "case_created"))
    case.save(update_fields=["last_event_timestamp"])
    return case


def _cancel(*, case: SandboxCase, reason: str, user_type: str) -> list[SandboxWebhook]:
    case.status, case.reason = "cancelled", reason
    _status_record(case=case, reason=reason, user_type=user_type)
    payload = _envelope(case, "case_cancelled", reason=reason or DEFAULT_CANCEL_REASON[user_type])
    hooks = [webhook_queue(case=case, payload=payload)]
    case.save()
    return hooks


@transaction.atomic
def sandbox_case_cancel(*, case: SandboxCase, reason: str = "") -> SandboxCase:
    """The partner (we) cancels a case through the API, as MDI lets a partner do."""
    case = SandboxCase.objects.select_for_update().select_related("patient").get(pk=case.pk)
    if case.status == "cancelled":
        raise DomainError("The case is already cancelled.")
    _cancel(case=case, reason=reason, user_type=PARTNER)
    return case


@transaction.atomic
def sandbox_case_act(
    *, case: SandboxCase, action: str, text: str = "", tracking_number: str = ""
) -> list[SandboxWebhook]:
    """A clinician or pharmacy action on a sandbox case, with MDI's webhooks for it."""
    case = SandboxCase.objects.select_for_update().select_related("patient").get(pk=case.pk)
    if action == "message":
        message = SandboxMessage.objects.create(
            patient=case.patient, text=text or "Hello from your clinician.", user_type=CLINICIAN
        )
        # The same id GET /patients/{id}/messages returns, so a receiver can fetch the message.
        payload = _envelope(
            case,
            "message_created",
            user_type=CLINICIAN,
            channel="patient",
            message_id=str(message.pk),
        )
        case.save(update_fields=["last_event_timestamp"])
        return [webhook_queue(case=case, payload=payload)]
    status, event_types = ACTIONS[action]
    if status and case.status == "cancelled":
        # MDI: a cancelled case is final and cannot be modified (reference §5.3), so the sandbox
        # never emits a clinical event after case_cancelled. Out-of-order arrivals are what the
        # chaos buttons are for.
        raise DomainError("This case is cancelled; MDI does not let a clinician change it.")
    user_type = ACTOR_FOR_ACTION.get(action, CLINICIAN)
    if status == "cancelled":
        return _cancel(case=case, reason=text, user_type=user_type)
    if status:
        case.status = status
    if action in REASON_ACTIONS:
        case.reason = text  # the case shows the latest reason given; its history, each one
    if action in ORDER_STATUS_FOR_ACTION:
        case.order_status = ORDER_STATUS_FOR_ACTION[action]
    if action == "order_shipped":
        case.tracking_number = tracking_number or f"1Z{case.pk:06d}{int(time.time()) % 100000:05d}"
    hooks = []
    for event_type in event_types:
        extra: dict[str, Any] = {}
        if event_type == "offering_submitted":
            extra["offerings"] = [
                {
                    "case_offering_id": f"{case.case_id}-1",
                    "name": "Finasteride 1 mg tablets",
                    "directions": "Take one tablet by mouth once a day.",
                    "status": "completed",
                    "order_status": "not-applicable",
                    "product": {
                        "quantity": "30",
                        "refills": 3,
                        "pharmacy_name": "Sandbox Pharmacy",
                    },
                }
            ]
        if event_type.startswith("order_") or event_type.startswith("case_order"):
            extra.update(
                {"order_status": case.order_status, "case_order_id": f"{case.case_id}-order"}
            )
            if action == "order_shipped":
                extra["order_details"] = f"Carrier: UPS\nTracking Number: {case.tracking_number}"
        hooks.append(webhook_queue(case=case, payload=_envelope(case, event_type, **extra)))
    if status:
        _status_record(
            case=case, reason=text if action in REASON_ACTIONS else "", user_type=user_type
        )
    if action == "request_info":
        SandboxMessage.objects.create(
            patient=case.patient, text=text or "Could you tell me more?", user_type=CLINICIAN
        )
    case.save()
    return hooks


def sandbox_chaos(*, case: SandboxCase, kind: str, count: int = 3) -> list[SandboxWebhook]:
    """Re-send what was already sent, the awkward ways real deliveries arrive."""
    sent = list(
        case.webhooks.filter(is_held=False, bad_signature=False).order_by("-created_at", "-pk")
    )
    if not sent:
        return []
    last = sent[0]
    payload = json.loads(bytes(last.body))
    with transaction.atomic():
        if kind == "send_twice":
            return [
                webhook_queue(case=case, payload=payload),
                webhook_queue(case=case, payload=payload),
            ]
        if kind == "reverse_last":
            return [
                webhook_queue(case=case, payload=json.loads(bytes(h.body))) for h in sent[:count]
            ]  # newest first
        if kind == "bad_signature":
            return [webhook_queue(case=case, payload=payload, bad_signature=True)]
        if kind == "redeliver_later":
            return [webhook_queue(case=case, payload=payload, held=True)]
    raise ValueError(f"unknown chaos {kind}")


def sandbox_deliver_held() -> list[SandboxWebhook]:
    return [
        webhook_deliver(webhook_id=pk)
        for pk in SandboxWebhook.objects.filter(is_held=True).values_list("pk", flat=True)
    ]
