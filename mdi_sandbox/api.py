"""MDI's partner API routes as the client uses them, with the reference's validation and
response shapes (§2-§6, §10). Errors answer `{"message": ...}` like MDI."""

import json
import re
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError
from django.http import Http404, HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt

from core.exceptions import DomainError
from mdi_sandbox.models import (
    SandboxCase,
    SandboxFile,
    SandboxMessage,
    SandboxPatient,
    email_digest,
)
from mdi_sandbox.services import (
    sandbox_case_act,
    sandbox_case_cancel,
    sandbox_case_create,
    sandbox_patient_save,
)

TOKEN_LIFETIME = 86400
FILE_TYPES = {
    "document",
    "review",
    "other",
    "insurance-policy",
    "contract",
    "driver-license",
    "lab-result",
    "photo",
    "av-video",
    "full-body-photo",
    "back-photo",
    "face-photo",
    "avatar-photo",
    "ipledge-document",
    "auth-form",
}
TEST_STATUS_ACTIONS = {
    "assigned": "assign",
    "waiting": "request_info",
    "support": "support",
    "processing": "approve",
    "completed": "prescribe",
    "cancelled": "decline",
}


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"message": message}, status=status)


def _json(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def partner_api(view: Callable[..., JsonResponse]) -> Callable[..., JsonResponse]:
    """CSRF-exempt and, like MDI, answering 401 to a missing or unknown bearer token."""

    @csrf_exempt
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip()
        if not token or not cache.get(f"mdi-sandbox:token:{token}"):
            return _error(401, "Unauthenticated.")
        try:
            return view(request, *args, **kwargs)
        except Http404:
            # MDI answers every error as JSON with a `message`; Django's HTML 404 would reach
            # our client as a bare "Not Found" reason phrase.
            return _error(404, "Resource not found.")

    return wrapped


@csrf_exempt
def token(request: HttpRequest) -> JsonResponse:
    body = _json(request)
    if body.get("grant_type") != "client_credentials" or body.get("scope") != "*":
        return _error(400, "The grant type must be client_credentials and the scope *.")
    if (
        body.get("client_id") != settings.MDI_CLIENT_ID
        or body.get("client_secret") != settings.MDI_CLIENT_SECRET
    ):
        return _error(401, "Client authentication failed")
    access_token = secrets.token_urlsafe(32)
    cache.set(f"mdi-sandbox:token:{access_token}", True, TOKEN_LIFETIME)
    return JsonResponse(
        {"token_type": "Bearer", "expires_in": TOKEN_LIFETIME, "access_token": access_token}
    )


PATIENT_REQUIRED = (
    "first_name",
    "last_name",
    "email",
    "date_of_birth",
    "gender",
    "phone_number",
    "phone_type",
    "address",
)
ADDRESS_REQUIRED = ("address", "zip_code", "city_name", "state_name")
LENGTH_LIMITS = (("first_name", 35), ("last_name", 35), ("email", 80))
ADDRESS_LENGTH_LIMITS = (("address", 35), ("address2", 35), ("city_name", 35))


def _patient_problems(body: dict[str, Any], *, partial: bool = False) -> list[str]:
    """MDI's validation for a patient. Partial (PATCH): only the fields sent are checked, by
    the same rules, and a field sent empty is as missing as on create."""
    problems = [
        f"The {f.replace('_', ' ')} field is required."
        for f in PATIENT_REQUIRED
        if (not partial or f in body) and not body.get(f)
    ]
    if body.get("date_of_birth") and not re.fullmatch(
        r"\d{4}-\d{2}-\d{2}", str(body["date_of_birth"])
    ):
        problems.append("The date of birth does not match the format Y-m-d.")
    if body.get("gender") and body["gender"] not in (1, 2):
        problems.append("The selected gender is invalid.")
    address = body.get("address") or {}
    if "address" in body and not isinstance(address, dict):
        problems.append("The address must be an object.")
        address = {}
    problems += [
        f"The address.{f} field is required."
        for f in ADDRESS_REQUIRED
        if (not partial or f in address) and not address.get(f)
    ]
    for field, limit in LENGTH_LIMITS:
        if len(str(body.get(field, ""))) > limit:
            problems.append(
                f"The {field.replace('_', ' ')} may not be greater than {limit} characters."
            )
    for field, limit in ADDRESS_LENGTH_LIMITS:
        # address2 may be null; null counts as empty, never as the string "None".
        if len(str(address.get(field) or "")) > limit:
            problems.append(f"The address.{field} may not be greater than {limit} characters.")
    license_id = body.get("driver_license_id")
    if license_id is not None and not SandboxFile.objects.filter(file_id=str(license_id)).exists():
        problems.append("The selected driver license id is invalid.")
    return problems


def _patient_json(patient: SandboxPatient) -> dict[str, Any]:
    license_file = patient.driver_license
    return {
        "patient_id": patient.patient_id,
        "is_live": False,
        **patient.payload,
        "driver_license": (
            {
                "file_id": license_file.file_id,
                "name": license_file.name,
                "mime_type": license_file.mime_type,
            }
            if license_file
            else None
        ),
    }


@partner_api
def patients(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return _error(405, "Method not allowed")
    body = _json(request)
    if problems := _patient_problems(body):
        return _error(422, " ".join(problems))
    try:
        patient = sandbox_patient_save(patient=None, fields=body)
    except IntegrityError:
        return _error(400, "ERROR_PATIENT_EMAIL_ALREADY_TAKEN")
    return JsonResponse(_patient_json(patient), status=201)


@partner_api
def patient_detail(request: HttpRequest, patient_id: str) -> JsonResponse:
    patient = get_object_or_404(
        SandboxPatient.objects.select_related("driver_license"), patient_id=patient_id
    )
    if request.method == "GET":
        return JsonResponse(_patient_json(patient))
    if request.method != "PATCH":
        return _error(405, "Method not allowed")
    body = _json(request)
    if problems := _patient_problems(body, partial=True):
        return _error(422, " ".join(problems))
    try:
        patient = sandbox_patient_save(patient=patient, fields=body)
    except IntegrityError:
        return _error(400, "ERROR_PATIENT_EMAIL_ALREADY_TAKEN")
    return JsonResponse(_patient_json(patient))


@partner_api
def patient_search(request: HttpRequest) -> JsonResponse:
    term = str(_json(request).get("search", "")).strip().lower()
    if not term:
        return JsonResponse([], safe=False)
    # Emails match exactly through their digest; names are encrypted, so they are matched
    # after decryption (the sandbox holds a handful of demo patients).
    by_email = list(SandboxPatient.objects.filter(email_digest=email_digest(term)))
    found = by_email or [
        p
        for p in SandboxPatient.objects.select_related("driver_license")
        if term in f"{p.payload.get('first_name', '')} {p.payload.get('last_name', '')}".lower()
    ]
    return JsonResponse([{"email": p.email, **_patient_json(p)} for p in found], safe=False)


def _case_json(case: SandboxCase) -> dict[str, Any]:
    return {
        "case_id": case.case_id,
        "metadata": case.metadata,
        "case_status": {"name": case.status, "reason": case.reason or None, "hold_status": False},
        "patient": {"patient_id": case.patient.patient_id},
        "case_type": "New",
        "is_chargeable": True,
    }


@partner_api
def patient_cases(request: HttpRequest, patient_id: str) -> JsonResponse:
    patient = get_object_or_404(SandboxPatient, patient_id=patient_id)
    data = [_case_json(c) for c in patient.cases.select_related("patient")]
    return JsonResponse({"current_page": 1, "last_page": 1, "data": data})


@partner_api
def patient_messages(request: HttpRequest, patient_id: str) -> JsonResponse:
    patient = get_object_or_404(SandboxPatient, patient_id=patient_id)
    if request.method == "POST":
        body = _json(request)
        if (
            body.get("channel") not in {"patient", "support"}
            or not str(body.get("text", "")).strip()
        ):
            return _error(422, "The channel and text fields are required.")
        message = SandboxMessage.objects.create(
            patient=patient,
            channel=body["channel"],
            text=body["text"],
            user_type="App\\Models\\Patient",
        )
        return JsonResponse(_message_json(message), status=201)
    rows = patient.messages.filter(channel=request.GET.get("channel", "patient")).order_by(
        "created_at"
    )
    return JsonResponse({"current_page": 1, "data": [_message_json(m) for m in rows]})


def _message_json(message: SandboxMessage) -> dict[str, Any]:
    return {
        "id": message.pk,
        "channel": message.channel,
        "text": message.text,
        "user_type": message.user_type,
        "created_at": message.created_at.isoformat(),
    }


@partner_api
def files(request: HttpRequest) -> JsonResponse:
    upload = request.FILES.get("file")
    name, file_type = request.POST.get("name", ""), request.POST.get("type", "")
    if upload is None or not name:
        return _error(422, "The file and name fields are required.")
    if file_type not in FILE_TYPES:
        return _error(422, "The selected type is invalid.")
    record = SandboxFile.objects.create(
        name=name[:255], type=file_type, mime_type=upload.content_type or "", size=upload.size
    )
    return JsonResponse(
        {
            "file_id": record.file_id,
            "name": record.name,
            "mime_type": record.mime_type,
            "path": f"sandbox/{record.file_id}",
        },
        status=201,
    )


def _case_problems(body: dict[str, Any]) -> list[str]:
    problems = []
    if not SandboxPatient.objects.filter(patient_id=body.get("patient_id")).exists():
        problems.append("The selected patient id is invalid.")
    for index, question in enumerate(body.get("case_questions") or []):
        if (
            not str(question.get("question", "")).strip()
            or len(str(question.get("question"))) > 255
        ):
            problems.append(f"case_questions.{index}.question must be 1 to 255 characters.")
        if not isinstance(question.get("answer"), str) or not question["answer"].strip():
            problems.append(f"case_questions.{index}.answer is required.")
        if question.get("type") not in {"boolean", "number", "string"}:
            problems.append(f"case_questions.{index}.type is invalid.")
    known = set(
        SandboxFile.objects.filter(file_id__in=body.get("case_files") or []).values_list(
            "file_id", flat=True
        )
    )
    problems += [
        f"The file {f} does not exist." for f in body.get("case_files") or [] if f not in known
    ]
    if len(str(body.get("metadata", ""))) > 255:
        problems.append("The metadata may not be greater than 255 characters.")
    return problems


@partner_api
def cases(request: HttpRequest) -> JsonResponse:
    body = _json(request)
    if problems := _case_problems(body):
        return _error(422, " ".join(problems))
    case = sandbox_case_create(
        patient=SandboxPatient.objects.get(patient_id=body["patient_id"]), payload=body
    )
    return JsonResponse(_case_json(case), status=201)


@partner_api
def case_detail(request: HttpRequest, case_id: str) -> JsonResponse:
    return JsonResponse(
        _case_json(
            get_object_or_404(SandboxCase.objects.select_related("patient"), case_id=case_id)
        )
    )


@partner_api
def case_cancel(request: HttpRequest, case_id: str) -> JsonResponse:
    """The partner cancels a case (MDI's POST /cases/{id}/cancel)."""
    if request.method != "POST":
        return _error(405, "Method not allowed")
    case = get_object_or_404(SandboxCase, case_id=case_id)
    reason = _json(request).get("reason")
    if reason is not None and not isinstance(reason, str):
        return _error(422, "The reason must be a string.")
    try:
        case = sandbox_case_cancel(case=case, reason=(reason or "").strip())
    except DomainError as refusal:
        return _error(422, str(refusal))
    return JsonResponse(_case_json(case))


@partner_api
def case_statuses(request: HttpRequest, case_id: str) -> JsonResponse:
    """The statuses the case went through, oldest first, with who moved it."""
    case = get_object_or_404(SandboxCase, case_id=case_id)
    return JsonResponse(
        [
            {
                "name": row.name,
                "reason": row.reason,
                "hold_status": False,
                "user_type": row.user_type,
                "created_at": row.created_at.isoformat(),
                "updated_at": row.updated_at.isoformat(),
            }
            for row in case.statuses.all()
        ],
        safe=False,
    )


@partner_api
def case_file(request: HttpRequest, case_id: str, file_id: str) -> JsonResponse:
    case = get_object_or_404(SandboxCase, case_id=case_id)
    get_object_or_404(SandboxFile, file_id=file_id)
    if file_id not in case.file_ids:
        case.file_ids = [*case.file_ids, file_id]
        case.save(update_fields=["file_ids"])
    return JsonResponse({"case_id": case.case_id, "case_files": case.file_ids})


@partner_api
def test_encounter_status(request: HttpRequest, case_id: str) -> JsonResponse:
    """MDI's sandbox test route: simulate a clinician moving the case (§10)."""
    case = get_object_or_404(SandboxCase, case_id=case_id)
    body = _json(request)
    action = TEST_STATUS_ACTIONS.get(str(body.get("status")))
    if action is None:
        return _error(422, "The selected status is invalid.")
    if action in {"request_info", "decline"} and not body.get("reason"):
        return _error(422, "The reason field is required.")
    try:
        sandbox_case_act(case=case, action=action, text=str(body.get("reason", "")))
    except DomainError as refusal:
        return _error(422, str(refusal))
    case.refresh_from_db()
    return JsonResponse(_case_json(case))


@partner_api
def test_encounter_prescriptions(request: HttpRequest, case_id: str) -> JsonResponse:
    """MDI's sandbox test route: simulate a clinician writing the prescription (§10). The body's
    prescription fields are not modelled: the sandbox submits the case's offerings as they are."""
    if request.method != "POST":
        return _error(405, "Method not allowed")
    case = get_object_or_404(SandboxCase, case_id=case_id)
    try:
        sandbox_case_act(case=case, action="prescribe")
    except DomainError as refusal:
        return _error(422, str(refusal))
    case.refresh_from_db()
    return JsonResponse(_case_json(case))


@partner_api
def test_patient_message(request: HttpRequest, patient_id: str) -> JsonResponse:
    """MDI's sandbox test route: inject a message from the clinician."""
    patient = get_object_or_404(SandboxPatient, patient_id=patient_id)
    case = patient.cases.first()
    if case is None:
        return _error(422, "The patient has no case.")
    sandbox_case_act(case=case, action="message", text=str(_json(request).get("text", "")))
    return JsonResponse({"ok": True}, status=201)
