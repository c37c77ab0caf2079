"""The patient's pages stay flat: the same number of queries whether a visit has 1, 100 or
1 000 timeline events and messages, and whether an intake has one step or every answer filled.
Each page is measured at every size and the counts must be equal: an N+1 (a query per event,
message or answer) makes the larger sizes differ and fails here."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.selectors import VISIT_HISTORY_SHOWN
from intake.models import QuestionnaireResponse
from intake.services import questionnaire_response_save_step, questionnaire_response_start
from tests.cases.factories import CaseFactory
from tests.cases.history import history_add
from tests.intake.test_validation import STEP1, STEP2, STEP3
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db

SIZES = [1, 100, 1000]
CASE_PAGES = ["cases:dashboard", "cases:detail", "cases:detail_status"]
# Ceilings: session, user, patient, the case (with prescription and payment), the access log
# INSERT, action requests, messages, timeline, the intake snapshot; whatever the history.
CEILING = {"cases:dashboard": 11, "cases:detail": 13, "cases:detail_status": 7}


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def _url(name: str, case) -> str:
    return reverse(name) if name == "cases:dashboard" else reverse(name, args=[case.public_id])


@pytest.mark.parametrize("name", CASE_PAGES)
def test_case_pages_query_the_same_for_1_100_and_1000_events_and_messages(
    client, name, django_assert_max_num_queries
):
    counts = {}
    for size in SIZES:
        patient = PatientFactory(identified=True)
        case = CaseFactory(patient=patient)
        history_add(case=case, count=size)
        client.force_login(patient.user)
        _queries(client, _url(name, case))  # warm: first-request caches are not the page's
        counts[size] = _queries(client, _url(name, case))
        with django_assert_max_num_queries(CEILING[name]):
            client.get(_url(name, case))
    assert len(set(counts.values())) == 1, f"{name} queries grow with history: {counts}"


def test_a_long_history_shows_its_newest_part_and_the_rest_is_one_link_away(
    client, django_assert_max_num_queries
):
    """A thousand messages are not rendered (nor decrypted) on every view: the newest 50
    messages and steps, then a link to the whole history, which costs no more queries."""
    patient = PatientFactory(identified=True)
    case = CaseFactory(patient=patient)
    history_add(case=case, count=1000)
    client.force_login(patient.user)
    url = reverse("cases:detail", args=[case.public_id])
    page = client.get(url).content.decode()
    assert "Message 999:" in page and "Message 980:" in page  # the newest, oldest first
    assert "Message 979:" not in page
    assert page.index("Message 980:") < page.index("Message 999:")
    assert f"{url}?history=all#conversation-title" in page
    assert f"{url}?history=all#timeline-title" in page
    assert page.count("<time") == 40  # 20 messages and 20 steps
    with django_assert_max_num_queries(CEILING["cases:detail"]):
        whole = client.get(f"{url}?history=all").content.decode()
    assert "Message 0:" in whole and "Message 999:" in whole
    assert "Show earlier messages" not in whole and "Show the whole history" not in whole


def test_a_short_history_is_shown_whole_without_a_link(client):
    patient = PatientFactory(identified=True)
    case = CaseFactory(patient=patient)
    history_add(case=case, count=VISIT_HISTORY_SHOWN)
    client.force_login(patient.user)
    page = client.get(reverse("cases:detail", args=[case.public_id])).content.decode()
    assert "Message 0:" in page and f"Message {VISIT_HISTORY_SHOWN - 1}:" in page
    assert "Show earlier messages" not in page and "Show the whole history" not in page


# The intake: one step saved, then every step with every optional answer filled.
FULL = [
    ("about-hair-loss", {**STEP1, "tried-treatments": ["finasteride", "minoxidil", "biotin"]}),
    (
        "your-health",
        {
            **STEP2,
            "systolic-pressure": ["120"],
            "weight-kg": ["80"],
            "last-checkup": ["2024-01-01"],
        },
    ),
    (
        "medications",
        {
            **STEP3,
            "takes-medications": ["true"],
            "medication-list": ["x"],
            "has-allergies": ["true"],
            "allergy-list": ["penicillin"],
            "finasteride-side-effects": ["true"],
            "finasteride-side-effects-details": ["some shedding"],
        },
    ),
]


@pytest.fixture
def intake_patient(demo_version):
    from patients.models import IdentityDocument

    def make():
        patient = PatientFactory(identified=True)
        IdentityDocument.objects.create(
            patient=patient, kind="photo_id", stored_name="x.jpg", mime_type="image/jpeg", size=1
        )
        return patient

    return make


def _answered(patient, version, structure, steps, photo) -> QuestionnaireResponse:
    response = questionnaire_response_start(patient=patient, version=version)
    for link_id, raw in steps:
        assert questionnaire_response_save_step(
            response=response, structure=structure, step_link_id=link_id, raw=raw
        ).result.is_valid
    if photo is not None:
        assert questionnaire_response_save_step(
            response=response,
            structure=structure,
            step_link_id="photos-and-goals",
            raw={
                "treatment-preference": ["both"],
                "attestation": ["confirmed"],
                "questions-for-clinician": ["Does it work?"],
            },
            files={"scalp-photo": photo()},
        ).result.is_valid
    return QuestionnaireResponse.objects.get(pk=response.pk)


def _photo():
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 40), (100, 80, 60)).save(out, format="JPEG")
    return SimpleUploadedFile("scalp.jpg", out.getvalue(), content_type="image/jpeg")


def test_intake_step_page_queries_the_same_with_one_or_every_answer(
    client, intake_patient, demo_version, demo_structure, django_assert_max_num_queries
):
    counts = {}
    for label, steps, photo in [("one", FULL[:1], None), ("all", FULL, _photo)]:
        patient = intake_patient()
        response = _answered(patient, demo_version, demo_structure, steps, photo)
        client.force_login(patient.user)
        url = reverse("intake:step", args=[response.public_id, 1])
        _queries(client, url)
        counts[label] = _queries(client, url)
        with django_assert_max_num_queries(11):
            client.get(url)
    assert len(set(counts.values())) == 1, f"the step page's queries grow: {counts}"


def test_intake_review_page_queries_the_same_with_few_or_every_answer(
    client, intake_patient, demo_version, demo_structure, django_assert_max_num_queries
):
    few = [
        ("about-hair-loss", STEP1),
        ("your-health", STEP2),
        ("medications", STEP3),
    ]
    counts = {}
    for label, steps in [("few", few), ("all", FULL)]:
        patient = intake_patient()
        response = _answered(patient, demo_version, demo_structure, steps, _photo)
        client.force_login(patient.user)
        url = reverse("intake:review", args=[response.public_id])
        _queries(client, url)
        counts[label] = _queries(client, url)
        with django_assert_max_num_queries(11):
            client.get(url)
    assert len(set(counts.values())) == 1, f"the review page's queries grow: {counts}"
