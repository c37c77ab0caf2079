"""Payments: authorized at checkout, captured once on approval, released on a decline, refunded
once when a charged visit is cancelled or support refunds it; holds that lapse are flagged."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from cases.models import Case
from core.exceptions import TransientError
from core.roles import SUPPORT_STAFF
from payments.gateways import CheckoutOutcome
from payments.gateways.sandbox import SandboxGateway
from payments.models import (
    Payment,
    PaymentStatus,
    SandboxAuthorization,
    SandboxCheckout,
    SandboxIdempotencyKey,
)
from payments.services import (
    payment_capture,
    payment_checkout_complete,
    payment_holds_sweep,
    payment_refund,
    payment_release,
)
from tests.accounts.factories import StaffUserFactory
from tests.cases.factories import CaseFactory
from tests.concurrency import at_once
from tests.staff import staff_login
from tests.webhooks.helpers import mdi_body, post_mdi

pytestmark = pytest.mark.django_db


def _history(payment: Payment) -> list[str]:
    return [h.to_status for h in payment.history.all()]


def _hold(payment: Payment) -> SandboxAuthorization:
    return SandboxAuthorization.objects.get(authorization_id=payment.gateway_payment_id)


@pytest.fixture
def at_checkout(client, completed_unpaid):
    patient, response = completed_unpaid
    client.force_login(patient.user)
    return client, response


def _pay(client, response, card: str):
    """Open the checkout, put a card in the sandbox processor's page, come back."""
    opened = client.post(reverse("cases:checkout", args=[response.public_id]))
    assert opened.status_code == 302
    page = client.get(opened.url)
    assert b"Card number" in page.content
    paid = client.post(opened.url, {"card_number": card})
    return paid if paid.status_code != 302 else client.get(paid.url)


# --- checkout -----------------------------------------------------------------------------------


def test_the_checkout_page_says_authorized_now_charged_only_on_approval(at_checkout):
    client, response = at_checkout
    page = client.get(reverse("cases:checkout", args=[response.public_id])).content.decode()
    assert "$49.00" in page and "authorized, not charged" in page
    assert "Only if the clinician approves treatment" in page
    assert "does not guarantee a prescription" in page


def test_the_authorizing_test_card_holds_the_price_and_creates_the_case(
    at_checkout, django_capture_on_commit_callbacks
):
    client, response = at_checkout
    with django_capture_on_commit_callbacks(execute=False):
        back = _pay(client, response, "4242 4242 4242 4242")
    case = Case.objects.get()
    assert back.status_code == 302 and back.url == reverse("cases:detail", args=[case.public_id])
    payment = case.payment
    assert (payment.status, payment.amount, payment.currency, payment.card_last4) == (
        PaymentStatus.AUTHORIZED,
        4900,
        "usd",
        "4242",
    )
    assert _hold(payment).status == "authorized" and _hold(payment).amount == 4900
    assert payment.hold_expires_at - payment.authorized_at == datetime.timedelta(days=7)
    page = client.get(back.url).content.decode()
    assert "$49.00 is authorized on your card ending 4242, not charged" in page


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ("4000 0000 0000 0002", "Your card was declined."),
        ("4000 0000 0000 9995", "Your card has insufficient funds."),
    ],
)
def test_a_declined_card_returns_to_checkout_with_the_reason_and_creates_nothing(
    at_checkout, card, message
):
    client, response = at_checkout
    back = _pay(client, response, card)
    assert back.url == reverse("cases:checkout", args=[response.public_id])
    page = client.get(back.url).content.decode()
    assert message in page and "Nothing was charged" in page
    assert Case.objects.count() == 0 and SandboxAuthorization.objects.count() == 0
    assert Payment.objects.get().status == PaymentStatus.FAILED
    # The patient tries another card: a new checkout, then one hold and one case.
    assert _pay(client, response, "4242424242424242").status_code == 302
    assert (Case.objects.count(), SandboxAuthorization.objects.count()) == (1, 1)
    assert _history(Payment.objects.get()) == [
        "pending",
        "pending",
        "failed",
        "pending",
        "authorized",
    ]


def test_a_card_that_is_not_a_test_card_is_refused_on_the_page_and_nothing_is_kept(at_checkout):
    client, response = at_checkout
    opened = client.post(reverse("cases:checkout", args=[response.public_id]))
    page = client.post(opened.url, {"card_number": "5555 5555 5555 4444"})
    assert page.status_code == 422 and b"Use a sandbox test card" in page.content
    assert b"5555 5555 5555 4444" in page.content  # what was typed stays in the field
    assert SandboxAuthorization.objects.count() == 0
    assert SandboxCheckout.objects.get().status == "open"


def test_coming_back_without_paying_is_not_a_payment(at_checkout):
    client, response = at_checkout
    client.post(reverse("cases:checkout", args=[response.public_id]))
    session_id = SandboxCheckout.objects.get().session_id
    back = client.get(
        reverse("cases:checkout_return", args=[response.public_id]), {"session_id": session_id}
    )
    assert back.url == reverse("cases:checkout", args=[response.public_id])
    assert Case.objects.count() == 0 and Payment.objects.get().status == PaymentStatus.PENDING


def test_another_patients_checkout_session_is_refused(at_checkout, client):
    other_case = CaseFactory()
    client_, response = at_checkout
    back = client_.get(
        reverse("cases:checkout_return", args=[response.public_id]),
        {"session_id": other_case.payment.checkout_session_id},
    )
    assert back.url == reverse("cases:checkout", args=[response.public_id])
    assert Case.objects.count() == 1  # only the other patient's


def test_an_authorization_for_another_amount_is_not_accepted(at_checkout):
    client, response = at_checkout
    client.post(reverse("cases:checkout", args=[response.public_id]))
    payment = Payment.objects.get()
    wrong = CheckoutOutcome("authorized", gateway_payment_id="pi_x", amount=100, currency="usd")
    payment = payment_checkout_complete(session_id=payment.checkout_session_id, outcome=wrong)
    assert (
        payment.status == PaymentStatus.FAILED
        and "differs from the price" in payment.failure_reason
    )


def test_amounts_are_never_negative_or_zero(completed_unpaid):
    patient, response = completed_unpaid
    with pytest.raises(IntegrityError):
        Payment.objects.create(
            patient=patient, intake_response=response, amount=0, currency="usd", gateway="sandbox"
        )


# --- capture, release, refund through the case's outcome -----------------------------------------


@pytest.fixture
def paid_case(completed, django_capture_on_commit_callbacks) -> Case:
    from cases.services.submission import case_submit

    patient, response = completed
    with django_capture_on_commit_callbacks(execute=False):
        case = case_submit(patient=patient, response=response)
    Case.objects.filter(pk=case.pk).update(mdi_case_id=f"mdi-{case.pk}")
    case.refresh_from_db()
    return case


def _event(client, django_capture_on_commit_callbacks, case, event_type, timestamp):
    body = mdi_body(
        event_type, case_id=case.mdi_case_id, metadata=str(case.public_id), timestamp=timestamp
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert post_mdi(client, body).status_code == 200


def test_approval_captures_once_even_when_mdi_resends_it(
    client, paid_case, django_capture_on_commit_callbacks
):
    for timestamp in (100, 103, 106):  # case_approved, the clinician's second click, processing
        _event(client, django_capture_on_commit_callbacks, paid_case, "case_approved", timestamp)
    _event(client, django_capture_on_commit_callbacks, paid_case, "case_processing", 110)
    payment = Payment.objects.get(pk=paid_case.payment_id)
    assert payment.status == PaymentStatus.CAPTURED and _hold(payment).captured_amount == 4900
    assert SandboxIdempotencyKey.objects.filter(operation="capture").count() == 1
    assert _history(payment) == ["pending", "pending", "authorized", "captured"]


def test_a_clinicians_decline_releases_the_hold(
    client, paid_case, fake_mdi, django_capture_on_commit_callbacks
):
    fake_mdi.cancels(paid_case.mdi_case_id, reason="Not a candidate")
    _event(client, django_capture_on_commit_callbacks, paid_case, "case_cancelled", 100)
    payment = Payment.objects.get(pk=paid_case.payment_id)
    assert payment.status == PaymentStatus.RELEASED and _hold(payment).status == "voided"
    client.force_login(paid_case.patient.user)
    page = client.get(reverse("cases:detail", args=[paid_case.public_id])).content.decode()
    assert "hold of $49.00 was released" in page


def test_a_visit_cancelled_after_it_was_charged_is_refunded_once(
    client, paid_case, fake_mdi, django_capture_on_commit_callbacks
):
    _event(client, django_capture_on_commit_callbacks, paid_case, "case_approved", 100)
    fake_mdi.cancels(paid_case.mdi_case_id, reason="Duplicate order", by="Support")
    _event(client, django_capture_on_commit_callbacks, paid_case, "case_cancelled", 200)
    _event(client, django_capture_on_commit_callbacks, paid_case, "case_cancelled", 201)
    payment = Payment.objects.get(pk=paid_case.payment_id)
    assert payment.status == PaymentStatus.REFUNDED and _hold(payment).refunded_amount == 4900
    assert SandboxIdempotencyKey.objects.filter(operation="refund").count() == 1
    assert _history(payment)[-2:] == ["captured", "refunded"]


def test_a_release_asked_before_the_capture_ran_means_no_charge(paid_case):
    from payments.services import payment_capture_request, payment_release_request

    payment_capture_request(payment=paid_case.payment)
    payment_release_request(payment=paid_case.payment)
    assert payment_capture(payment_id=paid_case.payment_id) == "skipped"
    assert payment_release(payment_id=paid_case.payment_id) == PaymentStatus.RELEASED


class FlakyGateway(SandboxGateway):
    """The sandbox processor behind a network that fails `failures` times first."""

    def __init__(self, failures: int) -> None:
        self.failures = failures

    def capture(self, **kwargs) -> None:
        if self.failures:
            self.failures -= 1
            raise TransientError("processor answered 500")
        super().capture(**kwargs)


def test_a_capture_the_processor_fails_is_retried_then_done_once(paid_case):
    gateway = FlakyGateway(failures=1)
    assert payment_capture(payment_id=paid_case.payment_id, gateway=gateway) == "retry"
    payment = Payment.objects.get(pk=paid_case.payment_id)
    assert payment.status == PaymentStatus.AUTHORIZED and "500" in payment.capture_error
    assert payment_capture(payment_id=paid_case.payment_id, gateway=gateway) == "captured"
    assert payment_capture(payment_id=paid_case.payment_id, gateway=gateway) == "skipped"
    assert SandboxIdempotencyKey.objects.filter(operation="capture").count() == 1


def test_a_capture_failing_past_its_retries_is_shown_to_support(paid_case, monkeypatch, client):
    from payments import services
    from payments.tasks import payment_capture_task

    monkeypatch.setattr(services, "payment_gateway", lambda: FlakyGateway(failures=99))
    assert payment_capture_task.apply(kwargs={"payment_id": paid_case.payment_id}).get() == "failed"
    payment = Payment.objects.get(pk=paid_case.payment_id)
    assert payment.capture_failed_at and payment.status == PaymentStatus.AUTHORIZED
    support = StaffUserFactory()
    support.groups.add(Group.objects.get(name=SUPPORT_STAFF))
    staff_login(client, support)
    listing = client.get(
        reverse("admin:payments_payment_changelist"), {"attention": "capture_failed"}
    ).content.decode()
    assert str(payment.public_id) in listing


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_capturing_at_once_charge_once(paid_case):
    outcomes = at_once(lambda: payment_capture(payment_id=paid_case.payment_id))
    assert sorted(outcomes) == ["captured", "skipped"]
    assert SandboxIdempotencyKey.objects.filter(operation="capture").count() == 1


# --- support's refund ------------------------------------------------------------------------


def test_support_refunds_from_the_admin_after_confirming_and_twice_is_once(paid_case, client):
    payment_capture(payment_id=paid_case.payment_id)
    support = StaffUserFactory()
    support.groups.add(Group.objects.get(name=SUPPORT_STAFF))
    staff_login(client, support)
    changelist = reverse("admin:payments_payment_changelist")
    chosen = {"action": "refund", "_selected_action": [paid_case.payment_id]}
    asked = client.post(changelist, chosen)
    assert asked.status_code == 200 and b"Yes, refund" in asked.content
    assert Payment.objects.get(pk=paid_case.payment_id).status == PaymentStatus.CAPTURED
    for _ in range(2):
        client.post(changelist, {**chosen, "confirm": "yes"})
    payment = Payment.objects.get(pk=paid_case.payment_id)
    assert payment.status == PaymentStatus.REFUNDED
    assert SandboxIdempotencyKey.objects.filter(operation="refund").count() == 1
    assert _history(payment).count("refunded") == 1
    assert payment_refund(payment=payment, by="support") == "already refunded"


def test_refunding_a_payment_never_charged_changes_nothing(paid_case):
    assert "nothing to refund" in payment_refund(payment=paid_case.payment, by="support")
    assert Payment.objects.get(pk=paid_case.payment_id).status == PaymentStatus.AUTHORIZED


# --- holds that lapse ----------------------------------------------------------------------------


def test_a_hold_close_to_lapsing_is_flagged_and_a_lapsed_one_released(paid_case, client):
    now = timezone.now()
    Payment.objects.filter(pk=paid_case.payment_id).update(
        hold_expires_at=now + datetime.timedelta(hours=12)
    )
    assert payment_holds_sweep(now=now) == {"flagged": 1, "expired": 0}
    assert payment_holds_sweep(now=now) == {"flagged": 0, "expired": 0}  # flagged once
    payment = Payment.objects.get(pk=paid_case.payment_id)
    assert payment.hold_expiry_flagged_at and payment.status == PaymentStatus.AUTHORIZED
    later = now + datetime.timedelta(hours=13)
    assert payment_holds_sweep(now=later) == {"flagged": 0, "expired": 1}
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED and _hold(payment).status == "voided"
    assert payment_capture(payment_id=payment.pk) == "skipped"  # an approval can't charge it
    client.force_login(paid_case.patient.user)
    page = client.get(reverse("cases:detail", args=[paid_case.public_id])).content.decode()
    assert "hold on your card lapsed" in page


def test_checkout_and_visit_pages_keep_a_flat_query_count(
    at_checkout, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    client, response = at_checkout
    # The checkout page runs the whole readiness gate (intake, identity, photo ID, offering)
    # so a patient learns what is missing before the card page: a fixed 16 at most.
    with django_assert_max_num_queries(16):
        assert client.get(reverse("cases:checkout", args=[response.public_id])).status_code == 200
    with django_capture_on_commit_callbacks(execute=False):
        back = _pay(client, response, "4242 4242 4242 4242")
    with django_assert_max_num_queries(12):
        assert client.get(back.url).status_code == 200
