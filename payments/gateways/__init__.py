"""What payments need from a card processor, and the one place that picks it.

Both gateways implement `PaymentGateway`. Every call that moves money takes a deterministic
idempotency key derived from our payment row and the operation (`capture:<payment uuid>`), so
a retried call can never move money twice; the service also holds the payment's row lock, so
the processor's idempotency is the second line of defence, not the only one.
"""

from dataclasses import dataclass
from typing import Protocol

from django.conf import settings


class GatewayDeclined(Exception):
    """The processor refused the card or the operation for good; `reason` is safe to show."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class CheckoutSession:
    """A hosted checkout page the patient is sent to (the processor's, never ours)."""

    session_id: str
    url: str


@dataclass(frozen=True)
class CheckoutOutcome:
    """What the processor says became of a checkout session.

    status: "authorized" (the card is on hold for `amount`), "failed" (declined; `reason`
    says why), or "open" (the patient has not finished)."""

    status: str
    gateway_payment_id: str = ""
    amount: int = 0
    currency: str = ""
    card_last4: str = ""
    reason: str = ""


class PaymentGateway(Protocol):
    name: str

    def checkout_start(
        self,
        *,
        payment_reference: str,
        amount: int,
        currency: str,
        description: str,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> CheckoutSession:
        """Open a hosted checkout that only authorizes (manual capture)."""

    def checkout_outcome(self, *, session_id: str) -> CheckoutOutcome:
        """Ask the processor what became of a checkout session (never trust a redirect)."""

    def capture(self, *, gateway_payment_id: str, amount: int, idempotency_key: str) -> None:
        """Capture an authorization. Raises GatewayDeclined, or TransientError to retry."""

    def void(self, *, gateway_payment_id: str, idempotency_key: str) -> None:
        """Release an authorization that was never captured."""

    def refund(self, *, gateway_payment_id: str, amount: int, idempotency_key: str) -> None:
        """Refund a captured payment in full."""


def payment_gateway() -> PaymentGateway:
    """The configured processor (`PAYMENTS_GATEWAY`). Tests replace this function."""
    if settings.PAYMENTS_GATEWAY == "stripe":
        from payments.gateways.stripe import StripeGateway

        return StripeGateway()
    from payments.gateways.sandbox import SandboxGateway

    return SandboxGateway()
