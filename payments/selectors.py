"""Every read of payments."""

import uuid

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import Http404
from django.shortcuts import get_object_or_404

from payments.models import Payment, SandboxCheckout


def payment_for_checkout_session(*, session_id: str) -> Payment | None:
    return Payment.objects.filter(checkout_session_id=session_id).first() if session_id else None


def payment_for_intake(*, response: object) -> Payment | None:
    return Payment.objects.filter(intake_response=response).first()


def sandbox_checkout_get_for_user(*, user: AbstractBaseUser, session_id: str) -> SandboxCheckout:
    """The sandbox's hosted page, only for the patient whose payment opened it: its address
    alone (in a browser history, a shared screen) never lets someone else see or pay it.
    Anyone else gets a 404, never a hint that it exists."""
    checkout = get_object_or_404(SandboxCheckout, session_id=session_id)
    # The checkout's reference is the public id of the payment that opened it.
    owned = (
        _is_uuid(checkout.reference)
        and Payment.objects.filter(public_id=checkout.reference, patient__user=user).exists()
    )
    if not owned:
        raise Http404("No such checkout")
    return checkout


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
