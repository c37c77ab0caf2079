"""What each provider sends and how it authenticates (MDI: ../shared/reference/mdi-api.md §8;
Stripe: its signed `Stripe-Signature` header, verified by Stripe's own SDK)."""

import hashlib
import hmac
import json
import math
from dataclasses import dataclass
from typing import Any

import stripe

# MDI's documented event types (§8.3) plus legacy and observed ones we act on.
MDI_EVENT_TYPES = frozenset(
    {
        "case_created",
        "case_assigned_to_clinician",
        "case_waiting",
        "case_transferred_to_support",
        "case_approved",
        "case_processing",
        "case_completed",
        "case_cancelled",
        "case_file_added",
        "case_file_deleted",
        "medical_necessity_file_generated",
        "file_lab_results_processed",
        "clinical_note_created",
        "case_tag_attached",
        "patient_tag_attached",
        "offering_submitted",
        "prescription_insurance_coverage_updated",
        "order_status_changed",
        "order_tracking_number_changed",
        "partner_charge",
        "voucher_created",
        "voucher_updated",
        "voucher_used",
        "voucher_reminder_sent",
        "voucher_expired",
        "drivers_license_requested",
        "intro_video_requested",
        "exam_requested",
        "preferred_pharmacy_requested",
        "file_upload_requested",
        "patient_created",
        "patient_modified",
        "patient_deleted",
        "patient_opt_out",
        "patient_insurance_coverage_updated",
        "message_created",
        "notification_sent",
        "new_case_message",
        "prescription_submitted",
        "case_order_created",
        "case_order_updated",
        "case_order_prescription_created",
        "case_order_prescription_updated",
    }
)
# The Stripe types the payments app may act on; the endpoint in Stripe's dashboard should send
# only these, but anything else that arrives is stored and marked unhandled.
STRIPE_EVENT_TYPES = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.expired",
        "checkout.session.async_payment_failed",
        "payment_intent.canceled",
        "payment_intent.amount_capturable_updated",
        "charge.refunded",
    }
)
KNOWN_EVENT_TYPES: dict[str, frozenset[str]] = {
    "mdi": MDI_EVENT_TYPES,
    "stripe": STRIPE_EVENT_TYPES,
}

REDACTED_HEADERS = {"authorization", "signature", "cookie", "stripe-signature", "x-md-signature"}
# The only headers a delivery row keeps: enough to tell senders apart, never a sender's choice of
# names or count, so refused floods cannot fill the table. Secrets are kept as "[redacted]"
# markers, which show support whether the sender sent one at all.
STORED_HEADERS = (
    "content-type",
    "content-length",
    "user-agent",
    "x-forwarded-for",
    "authorization",
    "signature",
    "stripe-signature",
)
MAX_STORED_HEADERS = 20
MAX_HEADER_NAME = 64
MAX_HEADER_VALUE = 200

# Real events nest a few levels; anything deeper is refused before Python's recursion limit
# (about 1 000) can turn a parse, a repr or the admin's pretty-print into a 500.
MAX_JSON_DEPTH = 32


class UnsafeJson(ValueError):
    """The body is not JSON this app will act on: invalid, non-finite numbers, or too deep."""


def _refuse_constant(name: str) -> None:
    # NaN and Infinity are not JSON, yet Python accepts them; as a timestamp or an amount they
    # break arithmetic far from here.
    raise UnsafeJson(f"non-finite number {name}")


def _depth(value: object) -> int:
    """Iterative, so measuring a hostile body cannot itself hit the recursion limit."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                return level
            stack.extend((child, level + 1) for child in item)
    return deepest


def load_json(body: bytes) -> Any:
    """json.loads for bodies from outside. Raises UnsafeJson for anything it will not return."""
    try:
        value = json.loads(body, parse_constant=_refuse_constant)
    except UnsafeJson:
        raise
    except (ValueError, RecursionError, OverflowError) as exc:  # UnicodeDecodeError included
        raise UnsafeJson(type(exc).__name__) from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise UnsafeJson("nested too deeply")
    return value


def headers_to_store(headers: dict[str, str]) -> dict[str, str]:
    """The allow-listed headers, bounded in number, name and value length, secrets redacted."""
    kept: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered not in STORED_HEADERS or len(name) > MAX_HEADER_NAME:
            continue
        kept[name] = "[redacted]" if lowered in REDACTED_HEADERS else str(value)[:MAX_HEADER_VALUE]
        if len(kept) >= MAX_STORED_HEADERS:
            break
    return kept


def mdi_verify(
    *,
    body: bytes,
    authorization: str,
    signature: str,
    secrets: list[str],
    authorizations: list[str],
) -> str:
    """Returns "" when authentic, else a short reason. Constant-time comparisons throughout.

    MDI signs PHP's json_encode of the payload, which escapes "/" and non-ASCII characters, so
    only the raw body bytes can be verified: never re-serialise before checking.
    """
    if not authorization or not any(
        hmac.compare_digest(authorization.encode(), a.encode()) for a in authorizations
    ):
        return "authorization"
    if not signature:
        return "signature-missing"
    given = signature.strip().lower().encode()
    for secret in secrets:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
        if hmac.compare_digest(given, expected):
            return ""
    return "signature"


def mdi_sign(*, body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ParsedEvent:
    event_key: str
    event_type: str
    payload: dict[str, Any] | None  # None when the body is not a JSON object
    provider_timestamp: int | None
    external_id: str
    reference: str


def event_key_for(*, body: bytes, payload: dict[str, Any] | None) -> str:
    """THE rule for MDI's event identity: `notification_id` when present, else the SHA-256 of
    the raw body. A re-send with a new timestamp is therefore a new event; handlers make its
    effects idempotent by what it means."""
    if payload and payload.get("notification_id"):
        return f"notification:{payload['notification_id']}"[:128]
    return f"sha256:{hashlib.sha256(body).hexdigest()}"


def _unix_seconds(value: object) -> int | None:
    """MDI sends Unix seconds; some senders use milliseconds. Anything that is not a plausible
    moment (1970 to 2100) is treated as absent rather than allowed to break receipt."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    seconds = int(value // 1000) if value > 10**11 else int(value)
    return seconds if 0 <= seconds < 4_102_444_800 else None


def mdi_parse(*, body: bytes) -> ParsedEvent:
    """Never raises: whatever an authenticated sender signed is stored, as malformed if it
    cannot be read, so MDI gets its 200 and stops retrying."""
    try:
        payload = load_json(body)
    except UnsafeJson:
        payload = None
    if not isinstance(payload, dict):
        payload = None
    timestamp = _unix_seconds(payload.get("timestamp") if payload else None)
    return ParsedEvent(
        event_key=event_key_for(body=body, payload=payload),
        event_type=str(payload.get("event_type", ""))[:64] if payload else "",
        payload=payload,
        provider_timestamp=timestamp,
        external_id=str(
            (payload or {}).get("case_id") or (payload or {}).get("encounter_id") or ""
        )[:64],
        reference=str((payload or {}).get("metadata") or "")[:255],
    )


def stripe_verify(*, body: bytes, signature: str, secrets: list[str]) -> str:
    """Returns "" when Stripe signed this body recently, else a short reason.

    The SDK checks the HMAC over the raw bytes and refuses a timestamp older than its default
    tolerance (300 s), which bounds replays. Each secret is tried so a rolled secret can be
    added here before the old one is removed, refusing no delivery in between. A signed body
    that is not a Stripe event object is refused too: Stripe never sends one.
    """
    if not signature:
        return "signature-missing"
    secrets = [secret.strip() for secret in secrets if secret.strip()]
    if not secrets:
        return "not-configured"
    failure = "signature"
    for secret in secrets:
        try:
            event = stripe.Webhook.construct_event(
                payload=body, sig_header=signature, secret=secret
            )
        except stripe.SignatureVerificationError as exc:
            # The SDK checks the signature before the age, so "stale" means the HMAC matched.
            if "tolerance" in str(exc):
                failure = "stale"
            continue
        # Not UTF-8, not JSON, JSON but not an object, or nested past the recursion limit.
        except (ValueError, AttributeError, RecursionError):
            return "malformed"
        if not isinstance(getattr(event, "id", None), str) or not getattr(event, "type", None):
            return "malformed"
        try:
            load_json(body)  # the SDK accepts NaN and any depth; stripe_parse must not
        except UnsafeJson:
            return "malformed"
        return ""
    return failure


def stripe_parse(*, body: bytes) -> ParsedEvent:
    """Only called on a body `stripe_verify` accepted, so it is a JSON object with id and type.
    Stripe's event id is its identity: a redelivery carries the same id."""
    payload = load_json(body)
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    obj = obj if isinstance(obj, dict) else {}
    metadata = obj.get("metadata")
    reference = obj.get("client_reference_id") or (
        metadata.get("payment") if isinstance(metadata, dict) else None
    )
    return ParsedEvent(
        event_key=f"stripe:{payload['id']}"[:128],
        event_type=str(payload["type"])[:64],
        payload=payload,
        provider_timestamp=_unix_seconds(payload.get("created")),
        external_id=str(obj.get("id") or "")[:64],
        reference=str(reference or "")[:255],
    )
