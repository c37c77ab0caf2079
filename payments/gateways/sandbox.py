"""The sandbox processor behind the gateway protocol (in-process calls, no network)."""

from django.urls import reverse

from payments import sandbox
from payments.gateways import CheckoutOutcome, CheckoutSession
from payments.models import SandboxAuthorization, SandboxCheckout


class SandboxGateway:
    name = "sandbox"

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
        checkout = sandbox.sandbox_checkout_create(
            amount=amount,
            currency=currency,
            description=description,
            reference=payment_reference,
            success_url=success_url,
            cancel_url=cancel_url,
            idempotency_key=idempotency_key,
        )
        return CheckoutSession(
            checkout.session_id,
            reverse("payments:sandbox_checkout", args=[checkout.session_id]),
        )

    def checkout_outcome(self, *, session_id: str) -> CheckoutOutcome:
        checkout = SandboxCheckout.objects.filter(session_id=session_id).first()
        if checkout is None:
            return CheckoutOutcome("failed", reason="This checkout does not exist.")
        if checkout.status == "declined":
            return CheckoutOutcome("failed", reason=checkout.decline_reason)
        if checkout.status != "complete":
            return CheckoutOutcome("open")
        hold = SandboxAuthorization.objects.get(authorization_id=checkout.authorization_id)
        return CheckoutOutcome(
            "authorized",
            gateway_payment_id=hold.authorization_id,
            amount=hold.amount,
            currency=hold.currency,
            card_last4=hold.card_last4,
        )

    def capture(self, *, gateway_payment_id: str, amount: int, idempotency_key: str) -> None:
        sandbox.sandbox_capture(
            authorization_id=gateway_payment_id, amount=amount, idempotency_key=idempotency_key
        )

    def void(self, *, gateway_payment_id: str, idempotency_key: str) -> None:
        sandbox.sandbox_void(authorization_id=gateway_payment_id, idempotency_key=idempotency_key)

    def refund(self, *, gateway_payment_id: str, amount: int, idempotency_key: str) -> None:
        sandbox.sandbox_refund(
            authorization_id=gateway_payment_id, amount=amount, idempotency_key=idempotency_key
        )
