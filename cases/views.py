from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from cases.selectors import case_get_for_patient, case_timeline_for_patient
from cases.services.submission import CaseNotReady, case_submit
from intake.selectors import questionnaire_response_get_for_patient
from patients.services import patient_get_or_create


@login_required
@require_POST
def submit(request: HttpRequest, response_id: str) -> HttpResponse:
    patient = patient_get_or_create(user=request.user)
    response = questionnaire_response_get_for_patient(patient=patient, response_id=response_id)
    try:
        case = case_submit(patient=patient, response=response)
    except CaseNotReady as exc:
        messages.error(request, f"We can't send this to a clinician yet: {exc}")
        return redirect("patients:start")
    return redirect("cases:detail", case.public_id)


@login_required
def detail(request: HttpRequest, case_id: str) -> HttpResponse:
    patient = patient_get_or_create(user=request.user)
    case = case_get_for_patient(patient=patient, case_id=case_id)
    prescription = getattr(case, "prescription", None)  # none until MDI reports one
    context = {
        "case": case,
        "prescription": prescription,
        "timeline": case_timeline_for_patient(case=case),
    }
    return render(request, "cases/case_detail.html", context)
