"""The patient's dashboard and visit page: honest wording for every state, the history in MDI's
order, the prescription as reported, another patient's ids refused, flat query counts."""

import html

import pytest
from django.urls import reverse

from cases.models import CaseStatus, Prescription, PrescriptionStatus, SubmissionStatus
from tests.accounts.factories import DEFAULT_PASSWORD
from tests.cases.factories import CaseFactory
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


@pytest.fixture
def patient(db):
    return PatientFactory(identified=True)


@pytest.fixture
def signed_in(client, patient):
    client.force_login(patient.user)
    return client


def test_signing_in_with_a_visit_lands_on_the_dashboard(client, patient):
    CaseFactory(patient=patient)
    response = client.post(
        reverse("accounts:login"), {"username": patient.user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(response.url).url == reverse("cases:dashboard")


def test_signing_in_without_a_visit_goes_on_with_the_intake(client, patient, demo_version):
    from patients.models import IdentityDocument

    IdentityDocument.objects.create(
        patient=patient, kind="photo_id", stored_name="x.jpg", mime_type="image/jpeg", size=1
    )
    client.force_login(patient.user)
    assert client.get(reverse("cases:home")).url == reverse("intake:start")


STATES = [
    ({"status": CaseStatus.SUBMITTED, "submission_status": SubmissionStatus.PENDING}, None,
     "Sending to a clinician", "we'll let you know when a clinician picks up your visit"),
    ({"status": CaseStatus.SUBMITTED, "submission_status": SubmissionStatus.SENT}, None,
     "Waiting for a clinician", "We'll email you when they do"),
    ({"status": CaseStatus.UNDER_REVIEW}, None,
     "Under review", "A clinician licensed in your state is reviewing your answers"),
    ({"status": CaseStatus.MORE_INFO_REQUESTED}, None,
     "More information requested", "Answer your clinician's question"),
    ({"status": CaseStatus.WITH_SUPPORT}, None, "With our support team", "in touch"),
    ({"status": CaseStatus.APPROVED}, None, "Treatment approved", "being prepared"),
    ({"status": CaseStatus.PRESCRIPTION_SENT}, PrescriptionStatus.WRITTEN,
     "Prescription sent", "we'll tell you when it ships"),
    ({"status": CaseStatus.PRESCRIPTION_SENT}, PrescriptionStatus.SENT_TO_PHARMACY,
     "At the pharmacy", "fill it and ship it"),
    ({"status": CaseStatus.PRESCRIPTION_SENT}, PrescriptionStatus.FILLED,
     "Filled by the pharmacy", "It ships next"),
    ({"status": CaseStatus.PRESCRIPTION_SENT}, PrescriptionStatus.SHIPPED,
     "Shipped, tracking 9400111899223", "tracking link"),
    ({"status": CaseStatus.PRESCRIPTION_SENT}, PrescriptionStatus.DELIVERED,
     "Delivered", "Follow the directions on the label"),
    ({"status": CaseStatus.PRESCRIPTION_SENT}, PrescriptionStatus.FAILED,
     "The pharmacy couldn't fill your order", "support team will contact you"),
    ({"status": CaseStatus.DECLINED, "decline_reason": "Not suitable with your blood pressure"},
     None, "Treatment not prescribed", "Not suitable with your blood pressure"),
    ({"status": CaseStatus.CANCELLED, "cancelled_by": "partner"}, None,
     "Visit closed", "not a medical decision"),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "order", "headline", "explains"), STATES)
def test_every_state_reads_in_plain_words_with_what_happens_next(
    signed_in, patient, fields, order, headline, explains
):
    case = CaseFactory(patient=patient, **fields)
    if order:
        Prescription.objects.create(
            case=case, status=order, tracking_number="9400111899223", carrier="USPS"
        )
    dashboard = _page(signed_in, reverse("cases:dashboard"))
    visit = _page(signed_in, reverse("cases:detail", args=[case.public_id]))
    for page in (dashboard, visit):
        assert headline in page and explains in page
        assert "What happens next:" in page
        assert "guaranteed" not in page.lower()
    if order == PrescriptionStatus.DELIVERED:
        assert "has been sent" not in visit  # the latest reported state, not an older one


def test_the_visit_page_shows_the_prescription_as_mdi_reported_it_with_a_tracking_link(
    signed_in, patient
):
    case = CaseFactory(patient=patient, status=CaseStatus.PRESCRIPTION_SENT)
    Prescription.objects.create(
        case=case,
        status=PrescriptionStatus.SHIPPED,
        tracking_number="1Z999AA10123456784",
        carrier="UPS",
        details={"medication": "Finasteride", "strength": "1 mg", "quantity": "30",
                 "refills": "3", "directions": "One tablet daily", "pharmacy": "Curexa"},
    )  # fmt: skip
    page = _page(signed_in, reverse("cases:detail", args=[case.public_id]))
    for text in ("Finasteride, 1 mg", "One tablet daily", "30 (3 refills)", "Curexa", "Shipped"):
        assert text in page
    assert 'href="https://www.ups.com/track?tracknum=1Z999AA10123456784"' in page


def test_the_history_is_newest_first_in_mdis_order_whatever_the_arrival_order(
    signed_in, patient, deliver
):
    case = CaseFactory(patient=patient)
    deliver("case_approved", case, timestamp=1_700_000_300)
    deliver("case_assigned_to_clinician", case, timestamp=1_700_000_100)  # arrives late
    deliver("case_waiting", case, timestamp=1_700_000_200)  # arrives late too
    page = _page(signed_in, reverse("cases:detail", args=[case.public_id]))
    history = page[page.index("What has happened") :]
    positions = [history.index(label) for label in ("Approved", "More information requested")]
    assert positions == sorted(positions)
    assert history.index("More information requested") < history.rindex("Under review")
    case.refresh_from_db()
    assert case.status == CaseStatus.APPROVED  # the late events moved nothing back


def test_the_submitted_intake_is_shown_with_the_wording_the_patient_saw(completed, client):
    from cases.services.submission import case_submit

    patient, response = completed
    case = case_submit(patient=patient, response=response)
    client.force_login(patient.user)
    page = _page(client, reverse("cases:detail", args=[case.public_id]))
    assert "Which best describes where you are losing hair?" in page
    assert "Thinning at the crown" in page


def test_starting_a_new_visit_while_one_is_active_asks_first(signed_in, patient):
    CaseFactory(patient=patient, status=CaseStatus.UNDER_REVIEW)
    asked = signed_in.get(reverse("cases:new_visit"))
    assert asked.status_code == 200 and b"You already have a visit in progress" in asked.content
    assert signed_in.post(reverse("cases:new_visit")).url == reverse("intake:start")


def test_starting_a_new_visit_after_a_finished_one_just_starts(signed_in, patient):
    CaseFactory(patient=patient, status=CaseStatus.DECLINED)
    assert signed_in.get(reverse("cases:new_visit")).url == reverse("intake:start")


def test_the_status_fragment_polls_only_while_the_visit_is_active(signed_in, patient):
    active = CaseFactory(patient=patient, status=CaseStatus.UNDER_REVIEW)
    finished = CaseFactory(patient=patient, status=CaseStatus.DECLINED)
    fragment = _page(signed_in, reverse("cases:detail_status", args=[active.public_id]))
    assert "data-poll-url" in fragment and "Under review" in fragment
    assert "<html" not in fragment
    done = _page(signed_in, reverse("cases:detail_status", args=[finished.public_id]))
    assert "data-poll-url" not in done


@pytest.mark.parametrize("name", ["cases:detail", "cases:detail_status"])
def test_another_patients_visit_is_a_404(signed_in, name):
    theirs = CaseFactory()
    assert signed_in.get(reverse(name, args=[theirs.public_id])).status_code == 404


def test_the_dashboard_lists_only_the_patients_own_visits(signed_in, patient):
    mine, theirs = CaseFactory(patient=patient), CaseFactory()
    page = _page(signed_in, reverse("cases:dashboard"))
    assert str(mine.public_id) in page and str(theirs.public_id) not in page


@pytest.mark.parametrize("count", [1, 10, 100])
def test_query_counts_do_not_grow_with_visits_events_or_messages(
    signed_in, patient, deliver, count, django_assert_max_num_queries
):
    from cases.models import ActionRequest, CaseMessage

    cases = [CaseFactory(patient=patient) for _ in range(count)]
    for number in range(count):
        CaseMessage.objects.create(
            case=cases[0], direction="in", sender="clinician", text=f"Question {number}?",
            mdi_message_id=f"m-{number}", status="received",
        )  # fmt: skip
        ActionRequest.objects.create(case=cases[number], kind="more_info")
        deliver("case_assigned_to_clinician", cases[0], timestamp=1_700_000_000 + 2 * number)
        deliver("case_waiting", cases[0], timestamp=1_700_000_001 + 2 * number)
    # One more than before each: the access log's INSERT (a constant, whatever the count).
    with django_assert_max_num_queries(11):
        _page(signed_in, reverse("cases:dashboard"))
    with django_assert_max_num_queries(13):
        _page(signed_in, reverse("cases:detail", args=[cases[0].public_id]))


def test_a_finished_but_unpaid_intake_resumes_at_checkout_not_a_blank_form(
    completed_unpaid, client
):
    patient, response = completed_unpaid
    client.force_login(patient.user)
    assert client.get(reverse("cases:home")).url == reverse(
        "cases:checkout", args=[response.public_id]
    )


def test_a_decline_on_the_dashboard_says_what_happened_to_the_payment(signed_in, patient):
    from django.utils import timezone

    from payments.models import Payment

    case = CaseFactory(patient=patient, status=CaseStatus.DECLINED, decline_reason="Not suitable")
    Payment.objects.filter(pk=case.payment_id).update(status="released", released_at=timezone.now())
    page = _page(signed_in, reverse("cases:dashboard"))
    assert "Treatment not prescribed" in page and "Not suitable" in page
    assert "was released" in page and "You were not charged" in page
