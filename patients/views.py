from csp.constants import NONE, SELF
from csp.decorators import csp
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_ratelimit.decorators import ratelimit

from core import ratelimit as limits
from core.audit import access_log_record
from core.models import AccessLogAction
from core.uploads import UploadRejected, upload_open
from intake.selectors import CHOSEN_QUESTIONNAIRE_SESSION_KEY, questionnaire_for_new_intake
from patients.forms import (
    EligibilityForm,
    IdentityForm,
    NotificationPreferenceForm,
    PhotoIdForm,
    WaitlistForm,
)
from patients.models import Patient
from patients.selectors import (
    identity_document_get_for_viewer,
    identity_document_latest,
    patient_eligibility_is_frozen,
    patient_next_step,
)
from patients.services import (
    EligibilityFrozen,
    identity_document_upload,
    patient_check_eligibility,
    patient_get_or_create,
    patient_update_identity,
    patient_update_notification_preferences,
    state_waitlist_join,
)
from patients.states import US_STATES


@login_required
def start(request: HttpRequest) -> HttpResponse:
    """Send a signed-in person to the first step they have not finished, wherever they left."""
    if request.user.is_staff:
        return redirect("admin:index")
    patient = patient_get_or_create(user=request.user)
    return redirect(patient_next_step(patient=patient) or "intake:start")


def _frozen_eligibility(request: HttpRequest, patient: Patient, *, status: int) -> HttpResponse:
    """State and date of birth shown read-only: a submitted visit relied on them."""
    return render(
        request,
        "patients/eligibility_frozen.html",
        {"state_name": US_STATES.get(patient.state_of_residence, ""), "patient": patient},
        status=status,
    )


@login_required
def eligibility(request: HttpRequest) -> HttpResponse:
    patient = patient_get_or_create(user=request.user)
    if patient_eligibility_is_frozen(patient=patient):
        # A POST changes nothing; 403 tells a script so, the page tells the person.
        refused = request.method == "POST"
        return _frozen_eligibility(request, patient, status=403 if refused else 200)
    initial = {"state": patient.state_of_residence, "date_of_birth": patient.date_of_birth}
    form = EligibilityForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        # The age limit of the visit they chose (an offering's questionnaire), if any.
        questionnaire = questionnaire_for_new_intake(
            slug=request.session.get(CHOSEN_QUESTIONNAIRE_SESSION_KEY)
        )
        try:
            decision = patient_check_eligibility(
                patient=patient,
                state=form.cleaned_data["state"],
                date_of_birth=form.cleaned_data["date_of_birth"],
                minimum_age=questionnaire.effective_minimum_age if questionnaire else None,
            )
        except EligibilityFrozen:  # a visit was submitted while this page was open
            return _frozen_eligibility(request, patient, status=403)
        if decision.is_eligible:
            return redirect("patients:start")
        waitlist = WaitlistForm(initial={"state": form.cleaned_data["state"]})
        return render(
            request,
            "patients/eligibility_declined.html",
            {"decision": decision, "waitlist": waitlist},
        )
    return render(request, "patients/eligibility.html", {"form": form})


@login_required
@require_POST
@ratelimit(group="waitlist-ip", key="ip", rate=limits.WAITLIST_PER_IP)
@ratelimit(group="waitlist-user", key="user", rate=limits.WAITLIST_PER_USER)
def waitlist(request: HttpRequest) -> HttpResponse:
    form = WaitlistForm(request.POST)
    if form.is_valid():
        # The account's own address; a posted "email" is ignored (the form has no such field).
        state_waitlist_join(email=request.user.email, state=form.cleaned_data["state"])
        messages.success(
            request, "Thank you. We'll email you once clinicians are available in your state."
        )
        return redirect("home")
    messages.error(request, "Please choose your state again to join the list.")
    return redirect("patients:eligibility")


@login_required
def identity(request: HttpRequest) -> HttpResponse:
    patient = patient_get_or_create(user=request.user)
    if patient.eligibility_confirmed_at is None:
        return redirect("patients:eligibility")
    address = patient.shipping_address or {}
    initial = {
        "legal_first_name": patient.legal_first_name,
        "legal_last_name": patient.legal_last_name,
        "sex_at_birth": patient.sex_at_birth,
        "phone": patient.phone,
        "address_line1": address.get("line1"),
        "address_line2": address.get("line2"),
        "city": address.get("city"),
        "address_state": address.get("state") or patient.state_of_residence,
        "zip_code": address.get("zip"),
    }
    form = IdentityForm(
        request.POST or None, initial=initial, residence_state=patient.state_of_residence
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        patient_update_identity(
            patient=patient,
            legal_first_name=data["legal_first_name"],
            legal_last_name=data["legal_last_name"],
            sex_at_birth=data["sex_at_birth"],
            phone=data["phone"],
            shipping_address={
                "line1": data["address_line1"],
                "line2": data["address_line2"],
                "city": data["city"],
                "state": data["address_state"],
                "zip": data["zip_code"],
            },
        )
        return redirect("patients:start")
    context = {
        "form": form,
        "eligibility_frozen": patient_eligibility_is_frozen(patient=patient),
        "state_name": US_STATES.get(patient.state_of_residence, ""),
        "patient": patient,
    }
    return render(request, "patients/identity.html", context)


@login_required
def photo_id(request: HttpRequest) -> HttpResponse:
    patient = patient_get_or_create(user=request.user)
    if patient.identity_completed_at is None:
        return redirect("patients:start")
    form = PhotoIdForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            identity_document_upload(patient=patient, uploaded=form.cleaned_data["photo_id"])
        except UploadRejected as exc:
            form.add_error("photo_id", str(exc))
        else:
            messages.success(request, "Thanks, your photo ID is uploaded.")
            return redirect("patients:start")
    existing = identity_document_latest(patient=patient)
    return render(request, "patients/photo_id.html", {"form": form, "existing": existing})


@login_required
@require_GET
# Stricter than the site's policy: the file is shown alone and may run nothing, even if a
# crafted upload were taken for HTML.
@csp({"default-src": [NONE], "img-src": [SELF], "sandbox": True})
def document(request: HttpRequest, document_id: str) -> HttpResponse:
    """Serve an ID file to its owner or to staff allowed to see IDs (and log that staff did)."""
    doc = identity_document_get_for_viewer(user=request.user, document_id=document_id)
    if doc.patient.user_id != request.user.pk:
        access_log_record(
            request=request,
            obj=doc,
            action=AccessLogAction.DOWNLOAD,
            patient_user_id=doc.patient.user_id,
        )
    response = HttpResponse(upload_open(name=doc.stored_name), content_type=doc.mime_type)
    extension = doc.stored_name.rsplit(".", 1)[-1]
    disposition = "inline" if doc.mime_type.startswith("image/") else "attachment"
    # A generated name: the patient's own file name could carry their name or be hostile.
    response["Content-Disposition"] = f'{disposition}; filename="photo-id.{extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store, private"
    return response


@login_required
def notification_preferences(request: HttpRequest) -> HttpResponse:
    patient = patient_get_or_create(user=request.user)
    initial = {
        "notify_by_email": patient.notify_by_email,
        "notify_by_sms": patient.notify_by_sms,
        "phone": patient.phone,
    }
    form = NotificationPreferenceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        patient_update_notification_preferences(patient=patient, **form.cleaned_data)
        messages.success(request, "Your notification choices are saved.")
        return redirect("patients:notification_preferences")
    return render(request, "patients/notification_preferences.html", {"form": form})
