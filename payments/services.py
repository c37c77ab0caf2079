from django.db import IntegrityError, transaction

from payments.models import PaymentEffect


def payment_effect_request(*, case: object, kind: str) -> tuple[PaymentEffect, bool]:
    """Ask for a capture or release once per case. A second call returns the first row.

    Runs inside the caller's transaction (the case transition that causes it)."""
    try:
        with transaction.atomic():
            return PaymentEffect.objects.create(case=case, kind=kind), True
    except IntegrityError:
        return PaymentEffect.objects.get(case=case, kind=kind), False
