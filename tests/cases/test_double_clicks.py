"""Every state-changing patient request is idempotent: a second click (or two at once) lands
on the same result page, never a 500, never a second hold and never a second case."""

import pytest
from django.test import Client
from django.urls import reverse

from cases.models import Case, Offering
from intake import views as intake_views
from intake.models import QuestionnaireResponse, ResponseStatus
from tests.cases.conftest import DEMO_OFFERING_ID, _jpeg
from tests.concurrency import at_once
from tests.intake.test_validation import _answer_all
from tests.intake.test_views import _walk_to_review
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def at_review(client, demo_version):
    from patients.services import identity_document_upload

    Offering.objects.create(
        name="Finasteride",
        mdi_offering_id=DEMO_OFFERING_ID,
        questionnaire_slug="hair-loss",
        price_minor=4900,
    )
    patient = PatientFactory(identified=True)
    identity_document_upload(patient=patient, uploaded=_jpeg("license.jpg"))
    client.force_login(patient.user)
    _walk_to_review(client)
    return client, QuestionnaireResponse.objects.get()


def test_finish_clicked_twice_lands_on_the_completion_page_both_times(at_review):
    client, response = at_review
    url = reverse("intake:review", args=[response.public_id])
    first, second = client.post(url), client.post(url)
    complete = reverse("intake:complete", args=[response.public_id])
    assert (first.status_code, first.url) == (302, complete)
    assert (second.status_code, second.url) == (302, complete)


def test_finish_racing_a_first_click_that_already_finished_is_not_a_500(at_review, monkeypatch):
    """The second request read the intake before the first one committed: the service then
    finds it finished and the page goes where the first click went."""
    client, response = at_review
    stale = QuestionnaireResponse.objects.get(pk=response.pk)  # read while still in progress
    url = reverse("intake:review", args=[response.public_id])
    assert client.post(url).status_code == 302
    real_load = intake_views._load
    monkeypatch.setattr(
        intake_views,
        "_load",
        lambda request, response_id: (stale, real_load(request, response_id)[1]),
    )
    second = client.post(url)
    assert (second.status_code, second.url) == (
        302,
        reverse("intake:complete", args=[response.public_id]),
    )


def test_checkout_clicked_twice_opens_one_checkout_and_returning_twice_makes_one_case(
    at_review, django_capture_on_commit_callbacks
):
    from payments.models import Payment, SandboxCheckout
    from payments.sandbox import sandbox_checkout_pay

    client, response = at_review
    client.post(reverse("intake:review", args=[response.public_id]))
    url = reverse("cases:checkout", args=[response.public_id])
    first, second = client.post(url), client.post(url)
    assert first.status_code == second.status_code == 302
    assert first.url == second.url  # the same hosted page, not a second hold
    assert (Payment.objects.count(), SandboxCheckout.objects.count()) == (1, 1)
    session_id = SandboxCheckout.objects.get().session_id
    sandbox_checkout_pay(session_id=session_id, card_number="4242424242424242")
    back = reverse("cases:checkout_return", args=[response.public_id])
    with django_capture_on_commit_callbacks(execute=False):
        one = client.get(back, {"session_id": session_id})
        two = client.get(back, {"session_id": session_id})
    case = Case.objects.get()
    assert one.url == two.url == reverse("cases:detail", args=[case.public_id])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_checkouts_and_two_returns_at_the_same_moment_make_one_hold_and_one_case(
    demo_version, demo_structure, monkeypatch
):
    """Two requests on two connections each time: the row locks make the second wait and
    then find what the first made. Both answer with the same redirect."""
    from cases.services import submission
    from intake.services import questionnaire_response_complete
    from patients.services import identity_document_upload
    from payments.models import Payment, SandboxCheckout
    from payments.sandbox import sandbox_checkout_pay

    monkeypatch.setattr(submission, "_enqueue_send", lambda case_id: None)
    Offering.objects.create(
        name="Finasteride",
        mdi_offering_id=DEMO_OFFERING_ID,
        questionnaire_slug="hair-loss",
        price_minor=4900,
    )
    patient = PatientFactory(identified=True)
    identity_document_upload(patient=patient, uploaded=_jpeg("license.jpg"))
    response = _answer_all(patient, demo_version, demo_structure, lambda: _jpeg("scalp.jpg"))
    questionnaire_response_complete(response=response, structure=demo_structure)
    assert QuestionnaireResponse.objects.get().status == ResponseStatus.COMPLETED

    def twice(method: str, url: str, data: dict | None = None) -> list[tuple[int, str]]:
        browsers = []
        for _ in range(2):
            browsers.append(Client())
            browsers[-1].force_login(patient.user)

        def click() -> tuple[int, str]:
            answer = getattr(browsers.pop(), method)(url, data or {})
            return answer.status_code, answer.url

        return at_once(click)

    opened = twice("post", reverse("cases:checkout", args=[response.public_id]))
    assert opened[0] == opened[1] and opened[0][0] == 302
    assert (Payment.objects.count(), SandboxCheckout.objects.count()) == (1, 1)
    session_id = SandboxCheckout.objects.get().session_id
    sandbox_checkout_pay(session_id=session_id, card_number="4242424242424242")
    back = twice(
        "get",
        reverse("cases:checkout_return", args=[response.public_id]),
        {"session_id": session_id},
    )
    case = Case.objects.get()
    expected = (302, reverse("cases:detail", args=[case.public_id]))
    assert back == [expected, expected]
