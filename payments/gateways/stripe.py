"""Stripe through its official SDK: hosted Checkout that only authorizes, then capture, void
and refund of the PaymentIntent behind it. Card data never reaches our servers.

Every Stripe error is translated in `_stripe_errors`, so callers only ever see
TransientError (retry later), GatewayDeclined (refused for good) or PermanentError (our bug
or our configuration).
"""

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import stripe
from django.conf import settings

from core.exceptions import PermanentError, TransientError
from payments.gateways import CheckoutOutcome, CheckoutSession, GatewayDeclined

# A hung Stripe call holds a worker (and, in a view, the patient); failing fast is safe because
# every money-moving call carries an idempotency key and is retried by our own code.
TIMEOUT = httpx.Timeout(20.0, connect=5.0)

# Codes of 4xx errors that say this operation cannot succeed whatever we retry: the payment
# service records them as a decline rather than a bug. Any other 4xx is a PermanentError.
DECLINED_CODES = frozenset(
    {
        "payment_intent_unexpected_state",
        "payment_intent_payment_attempt_failed",
        "payment_intent_authentication_failure",
        "charge_already_captured",
        "charge_already_refunded",
        "charge_disputed",
        "charge_expired_for_capture",
        "amount_too_large",
        "amount_too_small",
        "balance_insufficient",
        "refund_disputed_payment",
    }
)


class StripeUnavailable(TransientError):
    """Stripe could not be reached, timed out, rate-limited us or failed on its side."""


@contextmanager
def _stripe_errors() -> Iterator[None]:
    try:
        yield
    except stripe.CardError as exc:
        raise GatewayDeclined(exc.user_message or "The card was declined.") from exc
    except stripe.IdempotencyError as exc:
        # The same key with different parameters: our bug, never the patient's.
        raise PermanentError(f"Stripe idempotency conflict: {exc.user_message}") from exc
    except stripe.InvalidRequestError as exc:
        if exc.code in DECLINED_CODES:
            raise GatewayDeclined(exc.user_message or exc.code) from exc
        raise PermanentError(f"Stripe refused ({exc.code}): {exc.user_message}") from exc
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        # Timeouts arrive here too: the SDK wraps every transport failure as a connection error.
        raise StripeUnavailable(str(exc)) from exc
    except stripe.APIError as exc:
        raise StripeUnavailable(f"Stripe error {exc.http_status}: {exc.user_message}") from exc
    except (stripe.AuthenticationError, stripe.PermissionError) as exc:
        raise PermanentError(f"Stripe rejected our credentials: {exc.user_message}") from exc
    except stripe.StripeError as exc:
        raise PermanentError(f"Unexpected Stripe error: {exc}") from exc


@functools.lru_cache(maxsize=4)
def _client(api_key: str) -> stripe.StripeClient:
    """One client (and connection pool) per key per process, not one per gateway call."""
    return stripe.StripeClient(
        api_key=api_key,
        http_client=stripe.HTTPXClient(timeout=TIMEOUT, allow_sync_methods=True),
        # Our tasks decide when to retry; SDK retries inside a request would hold row locks.
        max_network_retries=0,
    )


def success_url_with_session(url: str) -> str:
    """Stripe substitutes the literal `{CHECKOUT_SESSION_ID}`; it must stay unencoded."""
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=f"{query}session_id={{CHECKOUT_SESSION_ID}}"))


class StripeGateway:
    name = "stripe"

    def __init__(self) -> None:
        if not settings.STRIPE_SECRET_KEY:
            raise PermanentError("STRIPE_SECRET_KEY is not set")
        self._stripe = _client(settings.STRIPE_SECRET_KEY)

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
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": amount,
                        "product_data": {"name": description},
                    },
                    "quantity": 1,
                }
            ],
            "payment_intent_data": {
                "capture_method": "manual",
                "metadata": {"payment": payment_reference},
            },
            "client_reference_id": payment_reference,
            "metadata": {"payment": payment_reference},
            "success_url": success_url_with_session(success_url),
            "cancel_url": cancel_url,
        }
        with _stripe_errors():
            session = self._stripe.v1.checkout.sessions.create(
                params, {"idempotency_key": idempotency_key}
            )
        return CheckoutSession(session_id=session.id, url=session.url or "")

    def checkout_outcome(self, *, session_id: str) -> CheckoutOutcome:
        with _stripe_errors():
            session = self._stripe.v1.checkout.sessions.retrieve(
                session_id, {"expand": ["payment_intent", "payment_intent.latest_charge"]}
            )
        if session.status == "open":
            return CheckoutOutcome("open")
        if session.status == "expired":
            return CheckoutOutcome("failed", reason="The checkout session expired.")
        if session.status != "complete":
            return CheckoutOutcome("failed", reason=f"Unexpected checkout status {session.status}.")
        intent = session.payment_intent
        if not isinstance(intent, stripe.PaymentIntent):
            return CheckoutOutcome("failed", reason="The checkout has no payment.")
        if intent.status != "requires_capture":
            return CheckoutOutcome(
                "failed",
                gateway_payment_id=intent.id,
                reason=f"The payment is {intent.status}, not authorized.",
            )
        return CheckoutOutcome(
            "authorized",
            gateway_payment_id=intent.id,
            amount=intent.amount,
            currency=intent.currency,
            card_last4=_card_last4(intent),
        )

    def capture(self, *, gateway_payment_id: str, amount: int, idempotency_key: str) -> None:
        with _stripe_errors():
            self._stripe.v1.payment_intents.capture(
                gateway_payment_id,
                {"amount_to_capture": amount},
                {"idempotency_key": idempotency_key},
            )

    def void(self, *, gateway_payment_id: str, idempotency_key: str) -> None:
        with _stripe_errors():
            self._stripe.v1.payment_intents.cancel(
                gateway_payment_id,
                {"cancellation_reason": "requested_by_customer"},
                {"idempotency_key": idempotency_key},
            )

    def refund(self, *, gateway_payment_id: str, amount: int, idempotency_key: str) -> None:
        with _stripe_errors():
            self._stripe.v1.refunds.create(
                {"payment_intent": gateway_payment_id, "amount": amount},
                {"idempotency_key": idempotency_key},
            )


def _card_last4(intent: stripe.PaymentIntent) -> str:
    # getattr with defaults: Stripe omits absent fields, and a non-card method has no `card`.
    charge = getattr(intent, "latest_charge", None)
    details = getattr(charge, "payment_method_details", None)
    card = getattr(details, "card", None)
    return str(getattr(card, "last4", None) or "")
