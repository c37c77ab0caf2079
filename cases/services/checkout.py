"""Checkout of a completed intake: the card is authorized before the case exists.

cases orchestrates: it knows the price (the offering) and creates the case once payments says
the card is authorized. payments knows nothing of cases.
"""

from dataclasses import dataclass

from django.conf import settings

from cases.models import Case, Offering, is_mdi_offering_id
from cases.services.submission import CaseNotReady, case_ready_for_checkout, case_submit
from intake.models import QuestionnaireResponse
from patients.models import Patient
from payments.gateways import CheckoutOutcome, CheckoutSession
from payments.models import Payment, PaymentStatus
from payments.money import money_display
from payments.selectors import payment_for_checkout_session
from payments.services import payment_checkout_complete, payment_checkout_start


@dataclass(frozen=True)
class CheckoutPrice:
    amount: int
    currency: str

    @property
    def display(self) -> str:
        return money_display(amount=self.amount, currency=self.currency)


def case_checkout_price(*, response: QuestionnaireResponse) -> CheckoutPrice:
    """The price of the visit: its active offering's. Raises CaseNotReady if none is set."""
    slug = response.version.questionnaire.slug
    for offering in Offering.objects.filter(is_active=True, questionnaire_slug=slug).order_by("pk"):
        if is_mdi_offering_id(offering.mdi_offering_id) and offering.price_minor > 0:
            return CheckoutPrice(offering.price_minor, offering.currency.lower())
    raise CaseNotReady("This visit has no price configured yet. Our team has been told.")


def case_checkout_check(*, patient: Patient, response: QuestionnaireResponse) -> None:
    """Raises CaseNotReady with the reason this intake cannot be paid for yet."""
    case_ready_for_checkout(case=Case(patient=patient, intake_response=response))


def case_checkout_start(
    *, patient: Patient, response: QuestionnaireResponse, success_url: str, cancel_url: str
) -> CheckoutSession | None:
    """Open the processor's checkout for a completed intake (None: already authorized)."""
    case_ready_for_checkout(case=Case(patient=patient, intake_response=response))
    price = case_checkout_price(response=response)
    return payment_checkout_start(
        patient=patient,
        intake_response=response,
        amount=price.amount,
        currency=price.currency,
        # What the card statement and the processor's page say: no health details.
        description=f"{settings.SITE_NAME} online visit",
        success_url=success_url,
        cancel_url=cancel_url,
    )


def case_checkout_complete(
    *,
    session_id: str,
    response: QuestionnaireResponse | None = None,
    outcome: CheckoutOutcome | None = None,
) -> tuple[Payment, Case | None]:
    """Record the checkout's outcome and, once the card is authorized, create the case (which
    is then sent to MDI). Safe from the patient's return and the processor's webhook alike.
    From the patient's return, `response` is theirs: a session of another intake is refused."""
    owner = payment_for_checkout_session(session_id=session_id)
    if owner is None or (response is not None and owner.intake_response_id != response.pk):
        raise CaseNotReady("We couldn't find that checkout. Please start again.")
    payment = payment_checkout_complete(session_id=session_id, outcome=outcome)
    if payment.status != PaymentStatus.AUTHORIZED:
        return payment, None
    return payment, case_submit(patient=payment.patient, response=payment.intake_response)
