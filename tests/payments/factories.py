import datetime

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from payments.models import Payment, PaymentStatus
from tests.intake.factories import QuestionnaireResponseFactory


class PaymentFactory(DjangoModelFactory):
    """An authorized sandbox payment (a hold on the card), as checkout leaves it."""

    class Meta:
        model = Payment

    intake_response = factory.SubFactory(QuestionnaireResponseFactory)
    patient = factory.SelfAttribute("intake_response.patient")
    amount = 4900
    currency = "usd"
    gateway = "sandbox"
    status = PaymentStatus.AUTHORIZED
    gateway_payment_id = factory.Sequence(lambda n: f"pi_test_{n}")
    checkout_session_id = factory.Sequence(lambda n: f"cs_test_{n}")
    card_last4 = "4242"
    authorized_at = factory.LazyFunction(timezone.now)
    hold_expires_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=7))


def requested_payment_moves(payment: Payment) -> list[str]:
    """What the case outcomes asked of the payment: "capture" and/or "release"."""
    payment.refresh_from_db()
    moves = [("capture", payment.capture_requested_at), ("release", payment.release_requested_at)]
    return [name for name, at in moves if at]


def sandbox_paid(
    *, patient: object, response: object, card: str = "4242 4242 4242 4242"
) -> Payment:
    """Pay for a completed intake through the real sandbox processor (checkout, card, return),
    so later captures and releases move a real sandbox hold."""
    from payments.gateways.sandbox import SandboxGateway
    from payments.sandbox import sandbox_checkout_pay
    from payments.services import payment_checkout_complete, payment_checkout_start

    session = payment_checkout_start(
        patient=patient,
        intake_response=response,
        amount=4900,
        currency="usd",
        description="Thinclinic online visit",
        success_url="https://clinic.test/return",
        cancel_url="https://clinic.test/checkout",
        gateway=SandboxGateway(),
    )
    sandbox_checkout_pay(session_id=session.session_id, card_number=card)
    return payment_checkout_complete(session_id=session.session_id, gateway=SandboxGateway())
