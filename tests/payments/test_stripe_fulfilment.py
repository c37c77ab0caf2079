"""With PAYMENTS_GATEWAY=stripe, Stripe's verified `checkout.session.completed` fulfils the
checkout: the outcome is asked of Stripe (never read from the redirect), the case is created
once, whichever of the webhook and the patient's return comes first."""

import pytest
from django.urls import reverse

from cases.models import Case
from payments import services
from payments.gateways import CheckoutOutcome, CheckoutSession
from payments.gateways.sandbox import SandboxGateway
from payments.models import Payment, PaymentStatus
from tests.webhooks.test_stripe_receive import event_body, post_stripe
from webhooks.models import EventStatus, WebhookEvent

pytestmark = pytest.mark.django_db


class StripeLike(SandboxGateway):
    """Stands in for Stripe's answers; StripeGateway's own HTTP is tested with mocked HTTP."""

    name = "stripe"

    def __init__(self, status: str = "authorized", amount: int = 4900) -> None:
        self.status, self.amount, self.asked = status, amount, 0

    def checkout_start(self, **kwargs) -> CheckoutSession:
        return CheckoutSession("cs_test_1", "https://checkout.stripe.test/c/pay/cs_test_1")

    def checkout_outcome(self, *, session_id: str) -> CheckoutOutcome:
        self.asked += 1
        return CheckoutOutcome(
            self.status, gateway_payment_id="pi_1", amount=self.amount, currency="usd"
        )


@pytest.fixture
def stripe_checkout(completed_unpaid, client, monkeypatch, settings):
    settings.PAYMENTS_GATEWAY = "stripe"
    gateway = StripeLike()
    monkeypatch.setattr(services, "payment_gateway", lambda: gateway)
    patient, response = completed_unpaid
    client.force_login(patient.user)
    opened = client.post(reverse("cases:checkout", args=[response.public_id]))
    assert opened.url == "https://checkout.stripe.test/c/pay/cs_test_1"  # Stripe's hosted page
    return client, response, gateway


def test_the_completed_webhook_creates_the_case_once(
    stripe_checkout, django_capture_on_commit_callbacks
):
    client, response, gateway = stripe_checkout
    body = event_body(client_reference_id=str(Payment.objects.get().public_id))
    with django_capture_on_commit_callbacks(execute=True):
        assert post_stripe(client, body).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert post_stripe(client, body).status_code == 200  # Stripe re-sends it
    case = Case.objects.get()
    assert case.payment.status == PaymentStatus.AUTHORIZED
    assert gateway.asked == 1  # the outcome came from Stripe, once (the re-send is a duplicate)
    assert WebhookEvent.objects.get().status == EventStatus.PROCESSED
    # The patient's return afterwards lands on the same case.
    back = client.get(
        reverse("cases:checkout_return", args=[response.public_id]), {"session_id": "cs_test_1"}
    )
    assert back.url == reverse("cases:detail", args=[case.public_id])
    assert Case.objects.count() == 1


def test_a_forged_success_redirect_alone_never_counts_as_paid(stripe_checkout):
    client, response, gateway = stripe_checkout
    gateway.status = "open"  # Stripe says the patient has not paid
    back = client.get(
        reverse("cases:checkout_return", args=[response.public_id]), {"session_id": "cs_test_1"}
    )
    assert back.url == reverse("cases:checkout", args=[response.public_id])
    assert gateway.asked == 1 and Case.objects.count() == 0
    assert Payment.objects.get().status == PaymentStatus.PENDING


def test_a_webhook_for_a_checkout_that_is_not_ours_changes_nothing(
    stripe_checkout, django_capture_on_commit_callbacks
):
    client, _, gateway = stripe_checkout
    body = event_body(event_id="evt_other").replace(b"cs_test_1", b"cs_someone_else")
    with django_capture_on_commit_callbacks(execute=True):
        assert post_stripe(client, body).status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.status, event.outcome_note) == (EventStatus.IGNORED, "not our checkout")
    assert gateway.asked == 0 and Case.objects.count() == 0
