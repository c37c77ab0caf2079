"""Every state-changing patient POST is idempotent: a second click (or two at once) lands on
the same result page, never a 500 and never a second case."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from cases.models import Case, Offering
from intake import views as intake_views
from intake.models import QuestionnaireResponse, ResponseStatus
from tests.cases.conftest import DEMO_OFFERING_ID, _jpeg
from tests.intake.test_validation import _answer_all
from tests.intake.test_views import _walk_to_review
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def at_review(client, demo_version):
    from patients.services import identity_document_upload

    Offering.objects.create(
        name="Finasteride", mdi_offering_id=DEMO_OFFERING_ID, questionnaire_slug="hair-loss"
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


def test_submit_clicked_twice_gives_one_case_and_the_same_page(
    at_review, django_capture_on_commit_callbacks
):
    client, response = at_review
    client.post(reverse("intake:review", args=[response.public_id]))
    url = reverse("cases:submit", args=[response.public_id])
    with django_capture_on_commit_callbacks(execute=False):
        first, second = client.post(url), client.post(url)
    case = Case.objects.get()
    assert first.url == second.url == reverse("cases:detail", args=[case.public_id])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_submits_at_the_same_moment_make_one_case(demo_version, demo_structure, monkeypatch):
    """Two requests on two connections: the intake row lock makes the second wait and then
    find the first one's case. Both answer with a redirect to it."""
    from cases.services import submission
    from patients.services import identity_document_upload

    monkeypatch.setattr(submission, "_enqueue_send", lambda case_id: None)
    patient = PatientFactory(identified=True)
    identity_document_upload(patient=patient, uploaded=_jpeg("license.jpg"))
    response = _answer_all(patient, demo_version, demo_structure, lambda: _jpeg("scalp.jpg"))
    from intake.services import questionnaire_response_complete

    questionnaire_response_complete(response=response, structure=demo_structure)
    assert QuestionnaireResponse.objects.get().status == ResponseStatus.COMPLETED
    from cases.models import Offering
    from tests.cases.conftest import DEMO_OFFERING_ID

    Offering.objects.create(
        name="Finasteride", mdi_offering_id=DEMO_OFFERING_ID, questionnaire_slug="hair-loss"
    )
    barrier = threading.Barrier(2)
    answers: list[tuple[int, str]] = []

    def click() -> None:
        browser = Client()
        browser.force_login(patient.user)
        try:
            barrier.wait()
            answer = browser.post(reverse("cases:submit", args=[response.public_id]))
            answers.append((answer.status_code, answer.url))
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    case = Case.objects.get()
    expected = (302, reverse("cases:detail", args=[case.public_id]))
    assert answers == [expected, expected]
