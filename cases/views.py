from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from cases.models import Case
from cases.selectors import (
    VISIT_HISTORY_SHOWN,
    case_conversation,
    case_conversation_recent,
    case_get_for_patient,
    case_open_action_requests,
    case_timeline_for_patient,
    cases_for_patient,
    intake_awaiting_checkout,
    patient_has_visits,
)
from cases.services.checkout import (
    case_checkout_check,
    case_checkout_complete,
    case_checkout_price,
    case_checkout_start,
)
from cases.services.submission import CaseNotReady
from cases.wording import tracking_url, visit_wording
from core.audit import access_log_record
from core.exceptions import DomainError
from core.middleware import passive_request
from intake.selectors import (
    CHOSEN_QUESTIONNAIRE_SESSION_KEY,
    questionnaire_for_new_intake,
    questionnaire_new_intake_allowed_at,
    questionnaire_response_current_for_patient,
    questionnaire_response_get_for_patient,
    questionnaire_response_snapshot,
)
from patients.selectors import patient_next_step
from patients.services import patient_get_or_create
from payments.selectors import payment_for_intake


@login_required
@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest, response_id: str) -> HttpResponse:
    """The price, what happens next, and the way to the processor's card page."""
    patient = patient_get_or_create(user=request.user)
    response = questionnaire_response_get_for_patient(patient=patient, response_id=response_id)
    if hasattr(response, "case"):
        return redirect("cases:detail", response.case.public_id)
    if request.method == "POST":
        return_url = request.build_absolute_uri(
            reverse("cases:checkout_return", args=[response_id])
        )
        cancel_url = request.build_absolute_uri(reverse("cases:checkout", args=[response_id]))
        try:
            session = case_checkout_start(
                patient=patient, response=response, success_url=return_url, cancel_url=cancel_url
            )
        except DomainError as exc:
            messages.error(request, str(exc))
            return redirect("cases:checkout", response_id)
        if session is None:  # already authorized (a second tab): finish on our side
            payment = payment_for_intake(response=response)
            return redirect(f"{return_url}?session_id={payment.checkout_session_id}")
        return redirect(session.url)
    try:
        # Say why now, before the patient reaches the card page (the POST checks it again).
        case_checkout_check(patient=patient, response=response)
        price = case_checkout_price(response=response)
    except CaseNotReady as exc:
        price = None
        messages.error(request, str(exc))
    context = {
        "response": response,
        "price": price,
        "payment": payment_for_intake(response=response),
    }
    return render(request, "cases/case_checkout.html", context)


@login_required
def checkout_return(request: HttpRequest, response_id: str) -> HttpResponse:
    """Back from the processor. Its redirect proves nothing: the outcome is asked of it."""
    patient = patient_get_or_create(user=request.user)
    response = questionnaire_response_get_for_patient(patient=patient, response_id=response_id)
    try:
        payment, case = case_checkout_complete(
            session_id=request.GET.get("session_id", ""), response=response
        )
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("cases:checkout", response_id)
    if case is not None:
        return redirect("cases:detail", case.public_id)
    if not payment.failure_reason:  # a failure is explained on the checkout page itself
        messages.info(request, "Your payment isn't finished yet. You can continue below.")
    return redirect("cases:checkout", response_id)


def _visit_context(case: Case) -> dict:
    return {"case": case, "wording": visit_wording(case=case)}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Where signing in lands: staff to the admin, a patient with a visit to their dashboard,
    anyone else to the first step they have not finished."""
    if request.user.is_staff:
        return redirect("admin:index")
    patient = patient_get_or_create(user=request.user)
    if patient_has_visits(patient=patient):
        return redirect("cases:dashboard")
    if awaiting := intake_awaiting_checkout(patient=patient):
        return redirect("cases:checkout", awaiting.public_id)
    return redirect(patient_next_step(patient=patient) or "intake:start")


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    patient = patient_get_or_create(user=request.user)
    # The patient's own reads are logged too: "who saw my data" includes them.
    access_log_record(request=request, obj=patient, patient_user_id=request.user.pk)
    visits = [(case, visit_wording(case=case)) for case in cases_for_patient(patient=patient)]
    context = {
        "visits": visits,
        "intake_in_progress": questionnaire_response_current_for_patient(patient=patient),
        "awaiting_checkout": intake_awaiting_checkout(patient=patient),
        "action_requests": case_open_action_requests(patient=patient),
        "has_active_visit": any(wording.is_active for _, wording in visits),
    }
    return render(request, "cases/case_dashboard.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def new_visit(request: HttpRequest) -> HttpResponse:
    """Starting another visit while one is active asks first and explains; while a recent
    disqualifying answer still holds, the page says when a new visit can start instead."""
    patient = patient_get_or_create(user=request.user)
    questionnaire = questionnaire_for_new_intake(
        slug=request.session.get(CHOSEN_QUESTIONNAIRE_SESSION_KEY)
    )
    if questionnaire is not None and not questionnaire_response_current_for_patient(
        patient=patient
    ):
        allowed_at = questionnaire_new_intake_allowed_at(
            patient=patient, questionnaire=questionnaire
        )
        if allowed_at is not None:
            return render(request, "intake/waiting_period.html", {"allowed_at": allowed_at})
    active = [
        (case, wording)
        for case in cases_for_patient(patient=patient)
        if (wording := visit_wording(case=case)).is_active
    ]
    if request.method == "POST" or not active:
        return redirect("intake:start")
    return render(request, "cases/case_new_visit.html", {"active": active})


@login_required
def detail(request: HttpRequest, case_id: str) -> HttpResponse:
    """The visit: its status, the newest messages and steps of its history (all of them with
    ?history=all), the prescription, the payment and the answers as submitted."""
    patient = patient_get_or_create(user=request.user)
    case = case_get_for_patient(patient=patient, case_id=case_id)
    access_log_record(request=request, obj=case, patient_user_id=request.user.pk)
    prescription = getattr(case, "prescription", None)  # none until MDI reports one
    if request.GET.get("history") == "all":
        timeline = case_timeline_for_patient(case=case)
        case_messages, older_messages = list(case_conversation(case=case)), False
        older_steps = False
    else:  # the newest part; one more step than shown tells whether there is more
        timeline = case_timeline_for_patient(case=case, newest=VISIT_HISTORY_SHOWN + 1)
        case_messages, older_messages = case_conversation_recent(case=case)
        older_steps = len(timeline) > VISIT_HISTORY_SHOWN
        timeline = timeline[:VISIT_HISTORY_SHOWN]
    context = {
        **_visit_context(case),
        "prescription": prescription,
        "tracking_url": tracking_url(
            carrier=prescription.carrier, number=prescription.tracking_number
        )
        if prescription
        else "",
        "payment": case.payment,
        "action_requests": [
            a for a in case_open_action_requests(patient=patient) if a.case_id == case.pk
        ],
        "case_messages": case_messages,
        "older_messages": older_messages,
        "timeline": timeline,
        "older_steps": older_steps,
        "answers": questionnaire_response_snapshot(response=case.intake_response)
        if case.intake_response_id
        else [],
        "answers_purged_at": case.intake_response.answers_purged_at
        if case.intake_response_id
        else None,
    }
    return render(request, "cases/case_detail.html", context)


@login_required
@passive_request  # polled every 20 s by an open page: not the patient doing anything
def detail_status(request: HttpRequest, case_id: str) -> HttpResponse:
    """The visit's status card alone: polled by the page while the visit is active."""
    patient = patient_get_or_create(user=request.user)
    case = case_get_for_patient(patient=patient, case_id=case_id)
    return render(request, "cases/_visit_status.html", _visit_context(case))
