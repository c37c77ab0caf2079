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
from mdi_sandbox.models import SandboxCase, SandboxMessage, SandboxWebhook

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
CLINICIAN = "App\\Models\\Clinician"


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
    if status:
        case.status = status
    if action in {"request_info", "decline"}:
        case.reason = text
    if action in ORDER_STATUS_FOR_ACTION:
        case.order_status = ORDER_STATUS_FOR_ACTION[action]
    if action == "order_shipped":
        case.tracking_number = tracking_number or f"1Z{case.pk:06d}{int(time.time()) % 100000:05d}"
    hooks = []
    for event_type in event_types:
        extra: dict[str, Any] = {}
        if event_type == "case_cancelled":
            extra["reason"] = text or "The clinician decided this treatment is not right for you."
        if event_type == "offering_submitted":
            extra["offerings"] = [
                {
                    "case_offering_id": f"{case.case_id}-1",
                    "name": "Prescribed treatment",
                    "status": "completed",
                    "order_status": "not-applicable",
                }
            ]
        if event_type.startswith("order_") or event_type.startswith("case_order"):
            extra.update(
                {"order_status": case.order_status, "case_order_id": f"{case.case_id}-order"}
            )
            if action == "order_shipped":
                extra["order_details"] = f"Carrier: UPS\nTracking Number: {case.tracking_number}"
        hooks.append(webhook_queue(case=case, payload=_envelope(case, event_type, **extra)))
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
