"""Every read of payments."""

from payments.models import Payment


def payment_for_checkout_session(*, session_id: str) -> Payment | None:
    return Payment.objects.filter(checkout_session_id=session_id).first() if session_id else None


def payment_for_intake(*, response: object) -> Payment | None:
    return Payment.objects.filter(intake_response=response).first()
