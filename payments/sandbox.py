"""The embedded card processor (PAYMENTS_GATEWAY=sandbox): hosted checkout, authorize, capture,
void and refund, with idempotency keys honoured like a real processor. Local use only: it keeps
the last four digits of a card and nothing else.

Test cards: 4242 4242 4242 4242 authorizes; 4000 0000 0000 0002 is declined;
4000 0000 0000 9995 fails with insufficient funds.
"""

import secrets
from collections.abc import Callable

from django.db import IntegrityError, transaction

from core.exceptions import DomainError, TransientError
from payments.gateways import GatewayDeclined
from payments.models import SandboxAuthorization, SandboxCheckout, SandboxIdempotencyKey

DECLINING_CARDS = {
    "4000000000000002": "Your card was declined.",
    "4000000000009995": "Your card has insufficient funds.",
}
AUTHORIZING_CARDS = {"4242424242424242"}


class SandboxCardUnknown(DomainError):
    """Not one of the sandbox's test cards: the page asks for one (nothing is recorded)."""


def _once(*, key: str, operation: str, act: Callable[[], str]) -> str:
    """Run `act` once per idempotency key; a repeat returns the first answer (or refusal)."""
    with transaction.atomic():
        stored = SandboxIdempotencyKey.objects.select_for_update().filter(key=key).first()
        if stored is not None:
            if stored.operation != operation:
                raise GatewayDeclined(f"Idempotency key {key} was used for {stored.operation}.")
            if stored.error:
                raise GatewayDeclined(stored.error)
            return stored.result
        try:
            result, error = act(), ""
        except GatewayDeclined as refusal:
            result, error = "", refusal.reason
        try:
            with transaction.atomic():
                SandboxIdempotencyKey.objects.create(
                    key=key, operation=operation, result=result, error=error
                )
        except IntegrityError as exc:
            # A concurrent first use of the key: like a real processor's 409, undo and retry.
            raise TransientError(f"Idempotency key {key} is in use by another request.") from exc
    if error:
        raise GatewayDeclined(error)
    return result


def sandbox_checkout_create(
    *,
    amount: int,
    currency: str,
    description: str,
    reference: str,
    success_url: str,
    cancel_url: str,
    idempotency_key: str,
) -> SandboxCheckout:
    def create() -> str:
        return SandboxCheckout.objects.create(
            session_id=f"cs_sandbox_{secrets.token_urlsafe(24)}",
            amount=amount,
            currency=currency,
            description=description,
            reference=reference,
            success_url=success_url,
            cancel_url=cancel_url,
        ).session_id

    session_id = _once(key=idempotency_key, operation="checkout", act=create)
    return SandboxCheckout.objects.get(session_id=session_id)


def sandbox_checkout_pay(*, session_id: str, card_number: str) -> SandboxCheckout:
    """The patient pressed Pay on the hosted page. Paying twice changes nothing."""
    digits = "".join(ch for ch in card_number if ch.isdigit())
    if digits not in AUTHORIZING_CARDS and digits not in DECLINING_CARDS:
        raise SandboxCardUnknown(
            "Use a sandbox test card: 4242 4242 4242 4242 (authorizes), 4000 0000 0000 0002 "
            "(declined) or 4000 0000 0000 9995 (insufficient funds)."
        )
    with transaction.atomic():
        checkout = SandboxCheckout.objects.select_for_update().get(session_id=session_id)
        if checkout.status != "open":
            return checkout
        if digits in DECLINING_CARDS:
            checkout.status = "declined"
            checkout.decline_reason = DECLINING_CARDS[digits]
        else:
            checkout.authorization_id = SandboxAuthorization.objects.create(
                authorization_id=f"pi_sandbox_{secrets.token_urlsafe(16)}",
                amount=checkout.amount,
                currency=checkout.currency,
                card_last4=digits[-4:],
            ).authorization_id
            checkout.status = "complete"
        checkout.save()
    return checkout


def _move(*, authorization_id: str, source: str, target: str, amount: int | None = None) -> str:
    with transaction.atomic():
        hold = SandboxAuthorization.objects.select_for_update().get(
            authorization_id=authorization_id
        )
        if hold.status != source:
            raise GatewayDeclined(f"This payment is {hold.status}; it cannot become {target}.")
        if amount is not None and not 0 < amount <= hold.amount:
            raise GatewayDeclined("The amount is more than was authorized.")
        hold.status = target
        if target == "captured":
            hold.captured_amount = amount or hold.amount
        if target == "refunded":
            hold.refunded_amount = amount or hold.captured_amount
        hold.save()
    return authorization_id


def sandbox_capture(*, authorization_id: str, amount: int, idempotency_key: str) -> None:
    _once(
        key=idempotency_key,
        operation="capture",
        act=lambda: _move(
            authorization_id=authorization_id, source="authorized", target="captured", amount=amount
        ),
    )


def sandbox_void(*, authorization_id: str, idempotency_key: str) -> None:
    _once(
        key=idempotency_key,
        operation="void",
        act=lambda: _move(authorization_id=authorization_id, source="authorized", target="voided"),
    )


def sandbox_refund(*, authorization_id: str, amount: int, idempotency_key: str) -> None:
    _once(
        key=idempotency_key,
        operation="refund",
        act=lambda: _move(
            authorization_id=authorization_id, source="captured", target="refunded", amount=amount
        ),
    )
