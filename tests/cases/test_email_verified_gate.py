"""No card is held and no case is filed for an email address nobody has confirmed."""

import pytest
from django.urls import reverse

from cases.models import Case
from cases.services.submission import CaseNotReady, case_ready_for_checkout, case_submit
from payments.models import Payment

pytestmark = pytest.mark.django_db


def _unverify(patient) -> None:
    patient.user.email_verified_at = None
    patient.user.save(update_fields=["email_verified_at"])


def test_an_unverified_address_cannot_reach_checkout_and_the_page_says_why(
    client, completed_unpaid
):
    patient, response = completed_unpaid
    _unverify(patient)
    with pytest.raises(CaseNotReady, match="confirm your email"):
        case_ready_for_checkout(case=Case(patient=patient, intake_response=response))

    client.force_login(patient.user)
    page = client.get(reverse("cases:checkout", args=[response.public_id])).content.decode()
    assert "Please confirm your email address first" in page
    started = client.post(reverse("cases:checkout", args=[response.public_id]))
    assert started.url == reverse("cases:checkout", args=[response.public_id])
    assert not Payment.objects.exists()  # no hold on the card


def test_a_paid_intake_whose_address_is_unverified_files_no_case(completed, fake_mdi):
    patient, response = completed
    _unverify(patient)
    with pytest.raises(CaseNotReady, match="confirm your email"):
        case_submit(patient=patient, response=response)
    assert not Case.objects.exists()
    assert fake_mdi.requests == []


def test_once_verified_the_same_intake_goes_through(completed_unpaid):
    patient, response = completed_unpaid
    case_ready_for_checkout(case=Case(patient=patient, intake_response=response))
