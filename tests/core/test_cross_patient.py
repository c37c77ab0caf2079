"""Every patient URL that takes an id, requested by patient B with patient A's ids: a 404 (never
a 403 that admits the object exists), for GET and for POST where the view accepts POST, and
nothing of A's changes."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from cases.models import (
    ActionRequest,
    ActionRequestKind,
    Case,
    CaseMessage,
    CaseStatus,
    MessageDirection,
    MessageSender,
    MessageStatus,
)
from intake.models import QuestionnaireResponse
from intake.services import questionnaire_response_start
from patients.models import IdentityDocument
from patients.services import identity_document_upload
from payments.gateways.sandbox import SandboxGateway
from payments.models import Payment, SandboxAuthorization, SandboxCheckout
from payments.services import payment_checkout_start
from tests.cases.factories import CaseFactory
from tests.intake.test_validation import STEP1
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _jpeg(name: str = "photo.jpg") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (10, 20, 30)).save(out, format="JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


@pytest.fixture
def a(completed_unpaid, demo_version, settings) -> dict:
    """Patient A: a completed intake at an open sandbox checkout, a draft intake, a visit with
    a failed message and an open request for a photo, and an uploaded photo ID."""
    settings.PAYMENTS_GATEWAY = "sandbox"
    patient, completed = completed_unpaid
    session = payment_checkout_start(
        patient=patient,
        intake_response=completed,
        amount=4900,
        currency="usd",
        description="Thinclinic online visit",
        success_url="https://clinic.test/return",
        cancel_url="https://clinic.test/checkout",
        gateway=SandboxGateway(),
    )
    draft = questionnaire_response_start(patient=patient, version=demo_version)
    case = CaseFactory(patient=patient, status=CaseStatus.MORE_INFO_REQUESTED)
    message = CaseMessage.objects.create(
        case=case,
        direction=MessageDirection.OUT,
        sender=MessageSender.PATIENT,
        text="private",
        status=MessageStatus.FAILED,
    )
    request = ActionRequest.objects.create(case=case, kind=ActionRequestKind.FILE_UPLOAD)
    return {
        "patient": patient,
        "completed": completed,
        "draft": draft,
        "session_id": session.session_id,
        "case": case,
        "message": message,
        "request": request,
        "document": patient.documents.get(),
    }


@pytest.fixture
def b_client(client, db) -> tuple:
    """Patient B, signed in: identified, with a photo ID and a visit of their own."""
    patient = PatientFactory(identified=True)
    identity_document_upload(patient=patient, uploaded=_jpeg("license.jpg"))
    own_case = CaseFactory(patient=patient)
    client.force_login(patient.user)
    return client, own_case


def _state(a: dict) -> tuple:
    """Everything of A's that B's requests could touch."""
    responses = QuestionnaireResponse.objects.filter(patient=a["patient"]).order_by("pk")
    message = CaseMessage.objects.get(pk=a["message"].pk)
    request = ActionRequest.objects.get(pk=a["request"].pk)
    return (
        [(r.status, r.answers, r.completed_steps, r.completed_at) for r in responses],
        list(Payment.objects.order_by("pk").values_list("pk", "status", "checkout_session_id")),
        list(SandboxCheckout.objects.order_by("pk").values_list("session_id", "status")),
        SandboxAuthorization.objects.count(),
        Case.objects.count(),
        list(Case.objects.order_by("pk").values_list("pk", "status")),
        CaseMessage.objects.count(),
        (message.status, message.send_attempts),
        (request.closed_at, request.stored_name, request.mdi_file_id),
        IdentityDocument.objects.count(),
    )


# name -> (how to build its args from A's objects (and B's own case), GET?, POST data or None)
PATIENT_ID_URLS = {
    "patients:document": (lambda a, own: [a["document"].public_id], True, None),
    "intake:step": (lambda a, own: [a["draft"].public_id, 1], True, STEP1),
    "intake:review": (lambda a, own: [a["draft"].public_id], True, {}),
    "intake:complete": (lambda a, own: [a["completed"].public_id], True, None),
    "intake:stopped": (lambda a, own: [a["draft"].public_id], True, None),
    "cases:checkout": (lambda a, own: [a["completed"].public_id], True, {}),
    "cases:checkout_return": (lambda a, own: [a["completed"].public_id], True, None),
    "cases:detail": (lambda a, own: [a["case"].public_id], True, None),
    "cases:detail_status": (lambda a, own: [a["case"].public_id], True, None),
    "cases:message_send": (lambda a, own: [a["case"].public_id], False, {"text": "hello"}),
    "cases:message_retry": (
        lambda a, own: [a["case"].public_id, a["message"].pk],
        False,
        {},
    ),
    # B's own visit in the address, A's message id: still A's message, still a 404.
    "cases:message_retry (own case)": (
        lambda a, own: [own.public_id, a["message"].pk],
        False,
        {},
    ),
    "cases:action_upload": (lambda a, own: [a["request"].pk], False, {"file": None}),
    "payments:sandbox_checkout": (
        lambda a, own: [a["session_id"]],
        True,
        {"card_number": "4242 4242 4242 4242"},
    ),
}


def _request(client, method: str, name: str, a: dict, own: Case):
    build, _, data = PATIENT_ID_URLS[name]
    url = reverse(name.split(" ")[0], args=build(a, own))
    if name == "cases:checkout_return":
        url += f"?session_id={a['session_id']}"
    if method == "post" and data is not None and "file" in data:
        data = {**data, "file": _jpeg()}
    return getattr(client, method)(url, data or {})


@pytest.mark.parametrize("name", sorted(n for n, (_, get, _) in PATIENT_ID_URLS.items() if get))
def test_get_with_another_patients_id_is_a_404_and_changes_nothing(b_client, a, name):
    client, own = b_client
    before = _state(a)
    assert _request(client, "get", name, a, own).status_code == 404
    assert _state(a) == before


@pytest.mark.parametrize(
    "name", sorted(n for n, (_, _, post) in PATIENT_ID_URLS.items() if post is not None)
)
def test_post_with_another_patients_id_is_a_404_and_changes_nothing(
    b_client, a, name, django_capture_on_commit_callbacks, fake_mdi
):
    client, own = b_client
    before = _state(a)
    with django_capture_on_commit_callbacks(execute=True) as scheduled:
        response = _request(client, "post", name, a, own)
    assert response.status_code == 404
    assert _state(a) == before
    assert scheduled == [] and fake_mdi.requests == []


@pytest.mark.parametrize("name", sorted(n for n in PATIENT_ID_URLS if "(own case)" not in n))
def test_the_owner_reaches_the_same_urls(client, a, name):
    """The refusals above are about whose id it is, not a broken URL: A gets no 404."""
    client.force_login(a["patient"].user)
    method = "get" if PATIENT_ID_URLS[name][1] else "post"
    assert _request(client, method, name, a, a["case"]).status_code in {200, 302}


def test_every_patient_url_taking_an_id_is_in_the_table():
    """A new patient URL with an id must join PATIENT_ID_URLS (and so these tests)."""
    from django.urls import get_resolver

    with_ids = set()
    for app in ("patients", "intake", "cases", "payments"):
        resolver = get_resolver().namespace_dict[app][1]
        for pattern in resolver.url_patterns:
            if pattern.pattern.converters:
                with_ids.add(f"{app}:{pattern.name}")
    # A parameter that names no patient's object: an offering's questionnaire, public.
    not_patient_data = {"intake:choose"}
    assert with_ids - not_patient_data == {name.split(" ")[0] for name in PATIENT_ID_URLS}


def test_an_anonymous_visitor_cannot_open_or_pay_a_checkout(client, a):
    url = reverse("payments:sandbox_checkout", args=[a["session_id"]])
    before = _state(a)
    for response in (client.get(url), client.post(url, {"card_number": "4242424242424242"})):
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login"))
    assert _state(a) == before
