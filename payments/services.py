"""Every write to payments. Knows nothing of cases: the caller says what to charge and when.

Money moves only under the payment's row lock and only from the state the move starts in, so
a second request (a re-sent approval, two workers, a double click) finds the move made and
does nothing. Each call to the processor also carries a deterministic idempotency key derived
from the payment and the operation, the processor's own second line of defence.
"""

import contextlib
import dataclasses
import datetime
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_fsm import can_proceed

from core.exceptions import DomainError, TransientError
from core.tasks import task_enqueue
from intake.models import QuestionnaireResponse
from patients.models import Patient
from payments.gateways import (
    CheckoutOutcome,
    CheckoutSession,
    GatewayDeclined,
    PaymentGateway,
    payment_gateway,
)
from payments.models import Payment, PaymentHistory, PaymentStatus

logger = logging.getLogger(__name__)

# An open checkout is offered again (a double click, a reload) rather than a second one.
CHECKOUT_REUSE_FOR = datetime.timedelta(hours=1)


class PaymentDeclined(DomainError):
    """The card was declined or the checkout failed; the message is safe to show."""


def _record(payment: Payment, before: str, note: str = "") -> None:
    PaymentHistory.objects.create(
        payment=payment, from_status=before, to_status=payment.status, note=note[:255]
    )


def _locked(payment_id: int) -> Payment:
    return Payment.objects.select_for_update().get(pk=payment_id)


def payment_checkout_start(
    *,
    patient: Patient,
    intake_response: QuestionnaireResponse,
    amount: int,
    currency: str,
    description: str,
    success_url: str,
    cancel_url: str,
    gateway: PaymentGateway | None = None,
) -> CheckoutSession | None:
    """The hosted checkout to send the patient to, or None when the card is already
    authorized. One payment per intake: a second click while a checkout is open gets the same
    checkout (the row lock is held across the processor call so two clicks cannot open two)."""
    if amount <= 0:
        raise DomainError("This visit has no price configured yet.")
    gateway = gateway or payment_gateway()
    with transaction.atomic():
        try:
            with transaction.atomic():
                payment = Payment.objects.create(
                    patient=patient,
                    intake_response=intake_response,
                    amount=amount,
                    currency=currency,
                    gateway=gateway.name,
                )
                _record(payment, "", "checkout opened")
        except IntegrityError:  # the intake already has its payment
            pass
        payment = Payment.objects.select_for_update().get(intake_response=intake_response)
        if payment.status not in {PaymentStatus.PENDING, PaymentStatus.FAILED}:
            return None
        fresh = timezone.now() - payment.updated_at < CHECKOUT_REUSE_FOR
        if payment.status == PaymentStatus.PENDING and payment.checkout_session_id and fresh:
            return CheckoutSession(payment.checkout_session_id, payment.checkout_url)
        before = payment.status
        payment.start_checkout()
        payment.amount, payment.currency = amount, currency  # always the price just shown
        session = gateway.checkout_start(
            payment_reference=str(payment.public_id),
            amount=payment.amount,
            currency=payment.currency,
            description=description,
            success_url=success_url,
            cancel_url=cancel_url,
            idempotency_key=f"checkout:{payment.public_id}:{payment.checkout_attempts}",
        )
        payment.checkout_session_id = session.session_id
        payment.checkout_url = session.url
        payment.save()
        _record(payment, before, f"checkout attempt {payment.checkout_attempts}")
    return session


def payment_checkout_complete(
    *,
    session_id: str,
    outcome: CheckoutOutcome | None = None,
    gateway: PaymentGateway | None = None,
) -> Payment:
    """Record what the processor says became of a checkout. The redirect back to us is only a
    hint: the outcome is asked of the processor (or comes from its verified webhook). Safe to
    call again and from both paths at once."""
    payment = Payment.objects.filter(checkout_session_id=session_id).first()
    if payment is None:
        raise DomainError("We couldn't find that checkout. Please start again.")
    outcome = outcome or (gateway or payment_gateway()).checkout_outcome(session_id=session_id)
    with transaction.atomic():
        payment = _locked(payment.pk)
        if payment.status != PaymentStatus.PENDING or payment.checkout_session_id != session_id:
            return payment  # already recorded, or an older checkout the patient left behind
        before = payment.status
        if outcome.status == "authorized":
            if (outcome.amount, outcome.currency.lower()) != (payment.amount, payment.currency):
                payment.fail()
                payment.failure_reason = "The authorized amount differs from the price."
                logger.error("payment %s: authorized amount differs from price", payment.pk)
            else:
                payment.authorize()
                payment.gateway_payment_id = outcome.gateway_payment_id
                payment.card_last4 = outcome.card_last4[-4:]
                payment.authorized_at = timezone.now()
                payment.hold_expires_at = payment.authorized_at + datetime.timedelta(
                    days=settings.PAYMENT_HOLD_DAYS
                )
        elif outcome.status == "failed":
            payment.fail()
            payment.failure_reason = (outcome.reason or "The payment did not go through.")[:255]
        else:
            return payment  # the patient has not finished the processor's page
        payment.save()
        note = payment.failure_reason or f"card ending {payment.card_last4 or '?'} authorized"
        _record(payment, before, note)
    return payment


# --- capture, release, refund -----------------------------------------------------------------


def payment_capture_request(*, payment: Payment) -> bool:
    """A clinician approved: charge the hold, once. Call inside the approving transaction;
    the charge itself runs after commit. Returns whether this call asked for it."""
    asked = Payment.objects.filter(pk=payment.pk, capture_requested_at__isnull=True).update(
        capture_requested_at=timezone.now()
    )
    if asked:
        transaction.on_commit(lambda payment_id=payment.pk: _enqueue("capture", payment_id))
    return bool(asked)


def payment_release_request(*, payment: Payment) -> bool:
    """The visit ended without treatment: release the hold, or refund a charge already made
    (policy: a visit cancelled after its approval is refunded in full). Once; after commit."""
    asked = Payment.objects.filter(pk=payment.pk, release_requested_at__isnull=True).update(
        release_requested_at=timezone.now()
    )
    if asked:
        transaction.on_commit(lambda payment_id=payment.pk: _enqueue("release", payment_id))
    return bool(asked)


def _enqueue(operation: str, payment_id: int) -> None:
    from payments.tasks import payment_capture_task, payment_release_task

    task = payment_capture_task if operation == "capture" else payment_release_task
    task_enqueue(task, payment_id=payment_id)  # down: the sweeper re-enqueues requested moves


def payment_capture(*, payment_id: int, gateway: PaymentGateway | None = None) -> str:
    """Charge an authorized payment. Returns "captured", "skipped" (nothing to charge: already
    captured, released, refunded), "refused" (support sees why), or "retry" (the processor was
    unavailable; the caller retries with backoff)."""
    gateway = gateway or payment_gateway()
    with transaction.atomic():
        payment = _locked(payment_id)
        if payment.status != PaymentStatus.AUTHORIZED or payment.release_requested_at:
            return "skipped"
        payment.capture_attempts += 1
        try:
            gateway.capture(
                gateway_payment_id=payment.gateway_payment_id,
                amount=payment.amount,
                idempotency_key=f"capture:{payment.public_id}",
            )
        except TransientError as exc:
            payment.capture_error = str(exc)[:2000]
            payment.save()
            return "retry"
        except GatewayDeclined as refusal:
            payment.capture_error = refusal.reason
            payment.capture_failed_at = timezone.now()
            payment.save()
            logger.warning("capture of payment %s refused", payment.pk)
            return "refused"
        payment.capture()
        payment.captured_at = timezone.now()
        payment.capture_error = ""
        payment.save()
        _record(payment, PaymentStatus.AUTHORIZED, "captured on the clinician's approval")
    return "captured"


def payment_capture_mark_failed(*, payment_id: int) -> None:
    """After the last retry: support sees "capture failed" with the last reason."""
    Payment.objects.filter(pk=payment_id, status=PaymentStatus.AUTHORIZED).update(
        capture_failed_at=timezone.now()
    )


def payment_release(*, payment_id: int, gateway: PaymentGateway | None = None) -> str:
    """Release an authorized payment, or refund a captured one. Safe to repeat."""
    gateway = gateway or payment_gateway()
    with transaction.atomic():
        payment = _locked(payment_id)
        before = payment.status
        if payment.status == PaymentStatus.AUTHORIZED:
            gateway.void(
                gateway_payment_id=payment.gateway_payment_id,
                idempotency_key=f"void:{payment.public_id}",
            )
            payment.release()
            payment.released_at = timezone.now()
            note = "hold released: the visit ended without treatment"
        elif payment.status == PaymentStatus.CAPTURED:
            _refund(payment, gateway)
            note = "refunded: the visit was cancelled after it was charged"
        else:
            return "skipped"
        payment.save()
        _record(payment, before, note)
    return payment.status


def _refund(payment: Payment, gateway: PaymentGateway) -> None:
    gateway.refund(
        gateway_payment_id=payment.gateway_payment_id,
        amount=payment.amount,
        idempotency_key=f"refund:{payment.public_id}",
    )
    payment.refund()
    payment.refunded_at = timezone.now()


def payment_refund(*, payment: Payment, by: str, gateway: PaymentGateway | None = None) -> str:
    """Support's refund: a charged payment is refunded in full, once; anything else is left
    as it is and the answer says why. Safe to repeat."""
    gateway = gateway or payment_gateway()
    with transaction.atomic():
        payment = _locked(payment.pk)
        if payment.status == PaymentStatus.REFUNDED:
            return "already refunded"
        if payment.status != PaymentStatus.CAPTURED:
            return f"not charged ({payment.get_status_display().lower()}): nothing to refund"
        _refund(payment, gateway)
        payment.save()
        _record(payment, PaymentStatus.CAPTURED, f"refunded by {by}")
    return "refunded"


# --- holds that lapse -------------------------------------------------------------------------


def payment_holds_sweep(
    *, now: datetime.datetime | None = None, gateway: PaymentGateway | None = None
) -> dict[str, int]:
    """Card networks drop an uncaptured hold after about a week. Policy (docs/payments.md):
    a hold within PAYMENT_HOLD_WARNING_HOURS of lapsing is flagged to support; at the lapse it
    is released and marked expired, which the patient's visit page then says. A later approval
    cannot charge it: support asks the patient to pay again."""
    now = now or timezone.now()
    warn_before = now + datetime.timedelta(hours=settings.PAYMENT_HOLD_WARNING_HOURS)
    authorized = Payment.objects.filter(status=PaymentStatus.AUTHORIZED)
    flagged = authorized.filter(
        hold_expires_at__lte=warn_before, hold_expiry_flagged_at__isnull=True
    ).update(hold_expiry_flagged_at=now)
    expired = 0
    for payment_id in authorized.filter(hold_expires_at__lte=now).values_list("pk", flat=True):
        gateway = gateway or payment_gateway()
        with transaction.atomic():
            payment = _locked(payment_id)
            if not can_proceed(payment.expire):
                continue
            # A refusal means the processor already dropped it: the hold is gone either way.
            with contextlib.suppress(GatewayDeclined):
                gateway.void(
                    gateway_payment_id=payment.gateway_payment_id,
                    idempotency_key=f"void:{payment.public_id}",
                )
            payment.expire()
            payment.save()
            _record(payment, PaymentStatus.AUTHORIZED, "hold lapsed before a decision")
            expired += 1
    return {"flagged": flagged, "expired": expired}


def payments_requested_sweep() -> int:
    """Re-enqueue captures and releases asked for but not done (a lost task)."""
    stale = timezone.now() - datetime.timedelta(minutes=5)
    ids = list(
        Payment.objects.filter(
            status=PaymentStatus.AUTHORIZED,
            capture_failed_at__isnull=True,
            capture_requested_at__lte=stale,
        ).values_list("pk", flat=True)[:200]
    )
    for payment_id in ids:
        _enqueue("capture", payment_id)
    released = list(
        Payment.objects.filter(
            status__in=[PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED],
            release_requested_at__lte=stale,
            release_error="",  # a refusal waits for support, not for the next sweep
        ).values_list("pk", flat=True)[:200]
    )
    for payment_id in released:
        _enqueue("release", payment_id)
    return len(ids) + len(released)


def payment_release_mark_refused(*, payment_id: int, reason: str) -> None:
    """The processor refused to release or refund, or stayed down: support sees why."""
    Payment.objects.filter(pk=payment_id).update(release_error=reason[:2000])


def payment_checkout_outcome_lookup(
    *, session_id: str, gateway: PaymentGateway | None = None
) -> dict[str, object]:
    """For a processor webhook: what the processor says of one of OUR checkouts, as a dict to
    store on the event (asked outside any transaction). {} for a checkout that is not ours."""
    if not Payment.objects.filter(checkout_session_id=session_id).exists():
        return {}
    outcome = (gateway or payment_gateway()).checkout_outcome(session_id=session_id)
    return dataclasses.asdict(outcome)
