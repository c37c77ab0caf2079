"""What each visit state means to a patient, in one place: the dashboard, the visit page and
its polled status all read it. It says only what the clinician or pharmacy reported, never a
guaranteed outcome."""

from dataclasses import dataclass
from urllib.parse import quote, quote_plus

from cases.models import CancelledBy, Case, CaseStatus, PrescriptionStatus, SubmissionStatus

TRACKING_URLS = {
    "ups": "https://www.ups.com/track?tracknum={}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={}",
    "dhl": "https://www.dhl.com/us-en/home/tracking.html?tracking-id={}",
}
FINISHED_ORDERS = {
    PrescriptionStatus.DELIVERED,
    PrescriptionStatus.FAILED,
    PrescriptionStatus.CANCELLED,
}


@dataclass(frozen=True)
class VisitWording:
    headline: str
    meaning: str
    next_step: str
    is_active: bool  # still waiting on someone: the page refreshes its status
    needs_patient: bool = False


def tracking_url(*, carrier: str, number: str) -> str:
    """The carrier's own tracking page, a web search for a carrier we do not know, or ""
    while there is no tracking number. The one place both the visit page and emails use."""
    if not number:
        return ""
    if template := TRACKING_URLS.get(carrier.strip().lower().replace(" ", "")):
        return template.format(quote(number))
    return f"https://www.google.com/search?q={quote_plus(f'{carrier} {number}'.strip())}"


def _order_wording(case: Case) -> VisitWording:
    prescription = getattr(case, "prescription", None)
    status = prescription.status if prescription else PrescriptionStatus.WRITTEN
    if status == PrescriptionStatus.SENT_TO_PHARMACY:
        return VisitWording(
            "At the pharmacy",
            "The pharmacy received your prescription.",
            "They will fill it and ship it; we'll tell you when it ships.",
            True,
        )
    if status == PrescriptionStatus.FILLED:
        return VisitWording(
            "Filled by the pharmacy",
            "The pharmacy filled your prescription.",
            "It ships next; we'll tell you when it's on its way.",
            True,
        )
    if status == PrescriptionStatus.SHIPPED:
        tracking = (
            f", tracking {prescription.tracking_number}" if prescription.tracking_number else ""
        )
        return VisitWording(
            f"Shipped{tracking}",
            "Your order is on its way.",
            "Follow the package with the tracking link below.",
            True,
        )
    if status == PrescriptionStatus.DELIVERED:
        return VisitWording(
            "Delivered",
            "Your order was delivered.",
            "Follow the directions on the label. Message your clinician if you have questions.",
            False,
        )
    if status == PrescriptionStatus.FAILED:
        return VisitWording(
            "The pharmacy couldn't fill your order",
            "The pharmacy reported a problem filling your prescription.",
            "Our support team will contact you about what happens next.",
            False,
        )
    if status == PrescriptionStatus.CANCELLED:
        return VisitWording(
            "Order cancelled",
            "The pharmacy order was cancelled.",
            "Our support team will contact you if anything is needed.",
            False,
        )
    return VisitWording(
        "Prescription sent",
        "Your clinician sent your prescription to the pharmacy.",
        "The pharmacy will prepare it; we'll tell you when it ships.",
        True,
    )


def visit_wording(*, case: Case) -> VisitWording:
    if case.status == CaseStatus.SUBMITTED:
        if case.submission_status != SubmissionStatus.SENT:
            delay = (
                " This is taking longer than usual; our support team is on it."
                if case.submission_status == SubmissionStatus.FAILED
                else ""
            )
            return VisitWording(
                "Sending to a clinician",
                f"Your answers are saved and on their way to the clinical team.{delay}",
                "Nothing to do: we'll let you know when a clinician picks up your visit.",
                True,
            )
        return VisitWording(
            "Waiting for a clinician",
            "Your answers have reached the clinical team.",
            # No time is promised: the clinical partner reports when a clinician picks it up,
            # and we have no figure of theirs to quote.
            "A clinician licensed in your state will pick up your visit. We'll email you when "
            "they do; there's nothing you need to do meanwhile.",
            True,
        )
    if case.status == CaseStatus.UNDER_REVIEW:
        return VisitWording(
            "Under review",
            "A clinician licensed in your state is reviewing your answers.",
            "They may message you with questions; we'll let you know when they decide.",
            True,
        )
    if case.status == CaseStatus.MORE_INFO_REQUESTED:
        return VisitWording(
            "More information requested",
            "Your clinician asked a question before deciding.",
            "Answer your clinician's question on this page so they can continue.",
            True,
            needs_patient=True,
        )
    if case.status == CaseStatus.WITH_SUPPORT:
        return VisitWording(
            "With our support team",
            "The clinician passed your visit to our support team for a moment.",
            "They'll be in touch if they need anything from you.",
            True,
        )
    if case.status == CaseStatus.APPROVED:
        return VisitWording(
            "Treatment approved",
            "Your clinician approved treatment.",
            "The prescription is being prepared; we'll tell you when it's sent to the pharmacy.",
            True,
        )
    if case.status == CaseStatus.PRESCRIPTION_SENT:
        return _order_wording(case)
    if case.status == CaseStatus.DECLINED:
        reason = f" Their note: “{case.decline_reason}”" if case.decline_reason else ""
        return VisitWording(
            "Treatment not prescribed",
            "Your clinician reviewed your visit and decided this treatment isn't right for you "
            f"right now. This is a medical decision about what is safe for you.{reason}",
            "A primary care doctor can help you explore other options. What happened to your "
            "payment is shown with your visit.",
            False,
        )
    who = {
        CancelledBy.PARTNER: "Our team closed this visit",
        CancelledBy.SUPPORT: "Our clinical partner's support team closed this visit",
    }.get(case.cancelled_by, "This visit was closed")
    return VisitWording(
        "Visit closed",
        f"{who} before it was completed. This was not a medical decision about you.",
        "If you didn't expect this, contact us and we'll help you start again. What happened to "
        "your payment is shown with your visit.",
        False,
    )
