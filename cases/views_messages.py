"""The patient's side of the conversation and the answers to the clinician's requests."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from cases.forms import ActionUploadForm, CaseMessageForm
from cases.selectors import (
    action_request_get_for_patient,
    case_get_for_patient,
    case_message_get_for_patient,
)
from cases.services.messages import action_request_upload, case_message_create, case_message_retry
from core.uploads import UploadRejected
from patients.services import patient_get_or_create


def _form_errors(form) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


@login_required
@require_POST
def message_send(request: HttpRequest, case_id: str) -> HttpResponse:
    patient = patient_get_or_create(user=request.user)
    case = case_get_for_patient(patient=patient, case_id=case_id)
    form = CaseMessageForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("cases:detail", case.public_id)
    try:
        case_message_create(
            case=case, text=form.cleaned_data["text"], photo=form.cleaned_data["photo"]
        )
    except UploadRejected as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Your message is on its way to your care team.")
    return redirect("cases:detail", case.public_id)


@login_required
@require_POST
def message_retry(request: HttpRequest, case_id: str, message_id: int) -> HttpResponse:
    patient = patient_get_or_create(user=request.user)
    case = case_get_for_patient(patient=patient, case_id=case_id)
    message = case_message_get_for_patient(patient=patient, case=case, message_id=message_id)
    if case_message_retry(message=message):
        messages.info(request, "We're sending your message again.")
    return redirect("cases:detail", case.public_id)


@login_required
@require_POST
def action_upload(request: HttpRequest, action_id: int) -> HttpResponse:
    patient = patient_get_or_create(user=request.user)
    action = action_request_get_for_patient(patient=patient, action_id=action_id)
    form = ActionUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("cases:detail", action.case.public_id)
    try:
        action_request_upload(action=action, uploaded=form.cleaned_data["file"])
    except UploadRejected as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Thank you. We're sending your photo to your clinician.")
    return redirect("cases:detail", action.case.public_id)
