"""The patient's intake pages: steps, save and resume, errors, tampering, IDOR, query counts."""

import html
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from intake.models import QuestionnaireResponse, ResponseStatus
from tests.intake.test_validation import STEP1, STEP2, STEP3
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(db):
    return PatientFactory(identified=True)


@pytest.fixture
def photo_id(patient):
    from patients.models import IdentityDocument

    return IdentityDocument.objects.create(
        patient=patient, kind="photo_id", stored_name="x.jpg", mime_type="image/jpeg", size=1
    )


@pytest.fixture
def intake_client(client, patient, photo_id, demo_version):
    client.force_login(patient.user)
    return client


def _start(client) -> str:
    """Follow intake:start to the first step; returns the step URL."""
    response = client.get(reverse("intake:start"))
    assert response.status_code == 302
    return response.url


def _response() -> QuestionnaireResponse:
    return QuestionnaireResponse.objects.get()


def _url(number: int) -> str:
    return reverse("intake:step", args=[_response().public_id, number])


def _scalp_photo() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (100, 80, 60)).save(out, format="JPEG")
    return SimpleUploadedFile("scalp.jpg", out.getvalue(), content_type="image/jpeg")


def _walk_to_review(client) -> None:
    _start(client)
    for number, data in [(1, STEP1), (2, STEP2), (3, STEP3)]:
        assert client.post(_url(number), data).status_code == 302
    data = {
        "treatment-preference": "both",
        "attestation": "confirmed",
        "scalp-photo": _scalp_photo(),
    }
    assert client.post(_url(4), data).url == reverse("intake:review", args=[_response().public_id])


def test_identity_must_be_finished_before_the_intake(client, demo_version):
    client.force_login(PatientFactory(eligible=True).user)
    assert client.get(reverse("intake:start")).url == reverse("patients:start")


def test_a_step_page_shows_progress_fields_and_back(intake_client):
    first = intake_client.get(_start(intake_client))
    page = html.unescape(first.content.decode())
    assert "Step 1 of 4" in page
    assert 'max="4" value="1"' in page
    assert "How long have you noticed hair loss?" in page
    assert "no-store" in first["Cache-Control"]
    intake_client.post(_url(1), STEP1)
    second = html.unescape(intake_client.get(_url(2)).content.decode())
    assert "Step 2 of 4" in second and f'href="{_url(1)}"' in second


def test_the_whole_walk_ends_complete(intake_client):
    _walk_to_review(intake_client)
    review = html.unescape(
        intake_client.get(reverse("intake:review", args=[_response().public_id])).content.decode()
    )
    assert "Which best describes where you are losing hair?" in review
    assert "Thinning at the crown" in review
    assert review.count(">Edit<") == 4
    done = intake_client.post(reverse("intake:review", args=[_response().public_id]))
    assert done.url == reverse("intake:complete", args=[_response().public_id])
    assert _response().status == ResponseStatus.COMPLETED
    page = intake_client.get(done.url).content.decode()
    assert "answers are saved" in page
    assert "charged only if a clinician approves" in page


def test_save_and_resume_on_another_device(client, intake_client, patient):
    _start(intake_client)
    intake_client.post(_url(1), STEP1)
    intake_client.post(_url(2), STEP2)
    intake_client.logout()
    from django.test import Client

    other_device = Client()
    other_device.force_login(patient.user)
    assert other_device.get(reverse("intake:start")).url == _url(3)
    # earlier answers come back pre-filled
    step1 = other_device.get(_url(1)).content.decode()
    assert 'value="crown" checked' in step1


def test_errors_keep_what_was_typed_and_are_summarised(intake_client):
    _start(intake_client)
    intake_client.post(_url(1), STEP1)
    response = intake_client.post(
        _url(2), {**STEP2, "systolic-pressure": "20", "weight-kg": "eighty"}
    )
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert 'id="error-summary"' in page and "Please check 2 answers" in page
    assert 'value="20"' in page and 'value="eighty"' in page
    assert "Please enter 60 or more." in page
    # static/js/forms.js moves focus to the summary (an inline script would break the CSP).
    assert 'tabindex="-1" id="error-summary"' in page and "js/forms.js" in page
    assert "<script>" not in page
    assert _response().completed_steps == ["about-hair-loss"]


def test_without_js_a_follow_up_appears_on_the_next_render_and_is_then_required(intake_client):
    _start(intake_client)
    page = intake_client.get(_url(1)).content.decode()
    assert 'data-link-id="sudden-onset-details"' in page
    hidden_marker = 'data-link-id="sudden-onset-details" data-type="text" data-enable-when'
    assert hidden_marker in page and page.split(hidden_marker)[1].split(">")[0].endswith("hidden")
    response = intake_client.post(_url(1), {**STEP1, "sudden-onset": "true"})
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "This question needs an answer." in page
    shown = page.split(hidden_marker)[1].split(">")[0]
    assert not shown.endswith("hidden")


def test_a_follow_up_on_an_earlier_step_is_rendered_from_saved_answers(intake_client):
    _start(intake_client)
    intake_client.post(_url(1), {**STEP1, "tried-treatments": ["finasteride"]})
    intake_client.post(_url(2), STEP2)
    page = intake_client.get(_url(3)).content.decode()
    block = page.split('data-link-id="finasteride-side-effects" data-type="boolean"')[1].split(">")[
        0
    ]
    assert "hidden" not in block


def test_a_crafted_post_answering_a_hidden_item_is_cleaned(intake_client):
    _start(intake_client)
    intake_client.post(_url(1), {**STEP1, "sudden-onset-details": "should never be stored"})
    assert "sudden-onset-details" not in _response().answers


def test_jumping_ahead_of_the_first_unanswered_step_is_refused(intake_client):
    _start(intake_client)
    assert intake_client.get(_url(3)).url == _url(1)
    assert intake_client.post(_url(4), {"treatment-preference": "both"}).url == _url(1)
    assert _patient_answers(_response()) == {}
    assert intake_client.get(reverse("intake:review", args=[_response().public_id])).url == _url(1)
    assert intake_client.get(_url(9)).status_code == 404


def test_a_disqualifying_answer_ends_the_intake_kindly(intake_client):
    _start(intake_client)
    intake_client.post(_url(1), STEP1)
    response = intake_client.post(_url(2), {**STEP2, "pregnancy": "true"})
    assert response.url == reverse("intake:stopped", args=[_response().public_id])
    page = html.unescape(intake_client.get(response.url).content.decode())
    assert "You have not been charged" in page
    assert "Finasteride can harm an unborn baby" in page
    assert intake_client.get(_url(3)).url == response.url  # no way back into the form


def _patient_answers(response) -> dict:
    """The answers the patient gave: the system fills the context items when a response starts."""
    return {k: v for k, v in response.answers.items() if v.get("answered_by") != "system"}


@pytest.mark.parametrize(
    "name", ["intake:step", "intake:review", "intake:complete", "intake:stopped"]
)
def test_another_patients_response_is_a_404(client, intake_client, name):
    _start(intake_client)
    response_id = _response().public_id
    intruder = PatientFactory(identified=True)
    from patients.models import IdentityDocument

    IdentityDocument.objects.create(
        patient=intruder, kind="photo_id", stored_name="y.jpg", mime_type="image/jpeg", size=1
    )
    client.force_login(intruder.user)
    args = [response_id, 1] if name == "intake:step" else [response_id]
    assert client.get(reverse(name, args=args)).status_code == 404
    assert client.post(reverse(name, args=args), STEP1).status_code in (404, 405)
    assert _patient_answers(_response()) == {}


def test_step_page_queries_do_not_grow_with_answers(intake_client, django_assert_max_num_queries):
    """Session, user, patient, response, the version's three structure queries; a POST adds
    the row lock, the attachment check, savepoints and the sliding session save."""
    _start(intake_client)
    with django_assert_max_num_queries(11):
        intake_client.get(_url(1))
    intake_client.post(
        _url(1), {**STEP1, "tried-treatments": ["finasteride", "minoxidil", "biotin"]}
    )
    intake_client.post(
        _url(2),
        {**STEP2, "systolic-pressure": "120", "weight-kg": "80", "last-checkup": "2024-01-01"},
    )
    intake_client.post(_url(3), {**STEP3, "takes-medications": "true", "medication-list": "x"})
    with django_assert_max_num_queries(11):
        intake_client.get(_url(3))
    with django_assert_max_num_queries(16):
        intake_client.post(
            _url(3), {**STEP3, "has-allergies": "true", "allergy-list": "penicillin"}
        )


def test_pages_carry_no_protected_data_in_urls(intake_client):
    _walk_to_review(intake_client)
    review = intake_client.get(
        reverse("intake:review", args=[_response().public_id])
    ).content.decode()
    import re

    for href in re.findall(r'href="([^"]+)"', review):
        assert "?" not in href or href.startswith("/static/")


@pytest.mark.parametrize("sandbox", [True, False])
def test_sandbox_wording_only_appears_on_the_sandbox(intake_client, settings, sandbox):
    settings.MDI_SANDBOX_ENABLED = sandbox
    _walk_to_review(intake_client)
    done = intake_client.post(reverse("intake:review", args=[_response().public_id]))
    page = intake_client.get(done.url).content.decode()
    assert "Continue to checkout" in page
    assert ("Sandbox mode" in page) is sandbox
    assert ("sandbox" in page.lower()) is sandbox  # no sandbox wording leaks into a real setup


def test_a_refused_step_keeps_no_uploaded_file_on_disk(intake_client, settings):
    _start(intake_client)
    for number, data in [(1, STEP1), (2, STEP2), (3, STEP3)]:
        assert intake_client.post(_url(number), data).status_code == 302
    refused = intake_client.post(
        _url(4), {"treatment-preference": "both", "scalp-photo": _scalp_photo()}
    )  # no attestation: the step is refused
    assert refused.status_code == 200
    folder = settings.PRIVATE_MEDIA_ROOT / "intake"
    assert not folder.exists() or not any(folder.iterdir())
    assert not _response().attachments.exists()
