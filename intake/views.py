"""The patient's intake pages: one per step, then review. Thin: selectors, one service, answer."""

import datetime
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from core.exceptions import DomainError
from intake.models import QuestionnaireResponse, ResponseStatus
from intake.rendering import step_fields
from intake.selectors import (
    CHOSEN_QUESTIONNAIRE_SESSION_KEY,
    questionnaire_for_new_intake,
    questionnaire_response_current_for_patient,
    questionnaire_response_get_for_patient,
    questionnaire_version_published,
)
from intake.services import (
    IntakeWaitingPeriod,
    questionnaire_response_complete,
    questionnaire_response_save_step,
    questionnaire_response_scores,
    questionnaire_response_start,
)
from intake.structure import VersionStructure, version_structure_load
from patients.selectors import patient_next_step
from patients.services import patient_get_or_create


def _first_incomplete_step(response: QuestionnaireResponse, structure: VersionStructure) -> int:
    """1-based number of the first step not yet saved; len+1 means all are saved."""
    for number, step in enumerate(structure.steps, start=1):
        if step.link_id not in response.completed_steps:
            return number
    return len(structure.steps) + 1


def _step_url(response: QuestionnaireResponse, number: int) -> str:
    return reverse("intake:step", args=[response.public_id, number])


def _where_to_resume(response: QuestionnaireResponse, structure: VersionStructure) -> str:
    if response.status == ResponseStatus.COMPLETED:
        return reverse("intake:complete", args=[response.public_id])
    if response.status == ResponseStatus.STOPPED:
        return reverse("intake:stopped", args=[response.public_id])
    number = _first_incomplete_step(response, structure)
    if number > len(structure.steps):
        return reverse("intake:review", args=[response.public_id])
    return _step_url(response, number)


def intake_waiting_period_page(
    request: HttpRequest, *, allowed_at: datetime.datetime
) -> HttpResponse:
    """A calm page, not an error: when they can try again, and that support can help."""
    return render(request, "intake/waiting_period.html", {"allowed_at": allowed_at})


@require_http_methods(["GET"])
def choose(request: HttpRequest, slug: str) -> HttpResponse:
    """An offering's "Start a visit": remember which questionnaire, then go on as anyone
    would (sign-up for a visitor, a new visit for a patient). The choice rides in the session
    through sign-up, eligibility and identity; an unknown slug falls back to the default."""
    request.session[CHOSEN_QUESTIONNAIRE_SESSION_KEY] = slug
    if request.user.is_authenticated:
        return redirect("cases:new_visit")
    return redirect("accounts:signup")


@login_required
def start(request: HttpRequest) -> HttpResponse:
    """Resume the patient's unfinished intake at its first incomplete step, or begin one."""
    patient = patient_get_or_create(user=request.user)
    if patient_next_step(patient=patient):
        return redirect("patients:start")
    response = questionnaire_response_current_for_patient(patient=patient)
    if response is None:
        questionnaire = questionnaire_for_new_intake(
            slug=request.session.pop(CHOSEN_QUESTIONNAIRE_SESSION_KEY, None)
        )
        version = questionnaire and questionnaire_version_published(slug=questionnaire.slug)
        if not version:
            return render(request, "intake/unavailable.html", status=503)
        try:
            response = questionnaire_response_start(patient=patient, version=version)
        except IntakeWaitingPeriod as wait:
            return intake_waiting_period_page(request, allowed_at=wait.allowed_at)
    return redirect(_where_to_resume(response, version_structure_load(version=response.version)))


def _load(request: HttpRequest, response_id: str) -> tuple[QuestionnaireResponse, VersionStructure]:
    patient = patient_get_or_create(user=request.user)
    response = questionnaire_response_get_for_patient(patient=patient, response_id=response_id)
    return response, version_structure_load(version=response.version)


@login_required
@require_http_methods(["GET", "POST"])
def step(request: HttpRequest, response_id: str, number: int) -> HttpResponse:
    response, structure = _load(request, response_id)
    if response.status != ResponseStatus.IN_PROGRESS:
        return redirect(_where_to_resume(response, structure))
    if not 1 <= number <= len(structure.steps):
        raise Http404("No such step")
    furthest = _first_incomplete_step(response, structure)
    if number > furthest:  # no jumping ahead of the first unanswered step
        return redirect(_where_to_resume(response, structure))
    current = structure.steps[number - 1]
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        raw = {
            key: request.POST.getlist(key) for key in request.POST if key != "csrfmiddlewaretoken"
        }
        try:
            outcome = questionnaire_response_save_step(
                response=response,
                structure=structure,
                step_link_id=current.link_id,
                raw=raw,
                files=request.FILES,
            )
        except DomainError as exc:
            messages.error(request, str(exc))
            return redirect(_where_to_resume(response, structure))
        if outcome.result.is_valid:
            if outcome.disqualification:
                return redirect("intake:stopped", response.public_id)
            if number == len(structure.steps):
                return redirect("intake:review", response.public_id)
            return redirect(_step_url(response, number + 1))
        errors, values = outcome.result.errors, raw  # re-show exactly what was typed
    else:
        values = {k: v["value"] for k, v in response.answers.items()}
    context = {
        "response": response,
        "step": current,
        "step_number": number,
        "step_count": len(structure.steps),
        "fields": step_fields(
            structure=structure,
            step_link_id=current.link_id,
            values=values,
            errors=errors,
            # initial[x] fills a step the patient has not saved yet, never over their answers
            prefill_initial=request.method == "GET"
            and current.link_id not in response.completed_steps,
        ),
        "errors": errors,
        "back_url": _step_url(response, number - 1) if number > 1 else None,
    }
    return render(request, "intake/response_step.html", context, status=200)


@dataclass(frozen=True)
class ReviewSection:
    number: int
    title: str
    edit_url: str
    answers: list[dict]


def _review_sections(
    response: QuestionnaireResponse, structure: VersionStructure
) -> list[ReviewSection]:
    """Answers grouped by step, with the wording the patient saw (the stored snapshot), and
    any totals as completion will compute them, with their severity band."""
    entries = {
        **response.answers,
        **questionnaire_response_scores(
            structure=structure, answers={k: v["value"] for k, v in response.answers.items()}
        ),
    }
    order = [n.link_id for n in structure.ordered if n.link_id in entries]
    sections = []
    for number, current in enumerate(structure.steps, start=1):
        answers = [
            # "band" always present: a failed template lookup is logged with the whole answer.
            {"link_id": link_id, "band": "", **entries[link_id]}
            for link_id in order
            if structure.step_of(link_id) == current.link_id
        ]
        sections.append(ReviewSection(number, current.text, _step_url(response, number), answers))
    return sections


@login_required
@require_http_methods(["GET", "POST"])
def review(request: HttpRequest, response_id: str) -> HttpResponse:
    response, structure = _load(request, response_id)
    if response.status != ResponseStatus.IN_PROGRESS:
        return redirect(_where_to_resume(response, structure))
    if _first_incomplete_step(response, structure) <= len(structure.steps):
        return redirect(_where_to_resume(response, structure))
    if request.method == "POST":
        try:
            result = questionnaire_response_complete(response=response, structure=structure)
        except DomainError:  # a double click: the first click finished it
            response.refresh_from_db()
            return redirect(_where_to_resume(response, structure))
        if result.is_valid and not result.disqualifications:
            return redirect("intake:complete", response.public_id)
        first_bad = next(iter(result.errors), None)
        messages.error(request, "Some answers need another look before you can finish.")
        step_link = structure.step_of(first_bad) if first_bad else None
        number = structure.step_index(step_link) + 1 if step_link else 1
        return redirect(_step_url(response, number))
    return render(
        request,
        "intake/response_review.html",
        {"response": response, "sections": _review_sections(response, structure)},
    )


@login_required
def complete(request: HttpRequest, response_id: str) -> HttpResponse:
    response, structure = _load(request, response_id)
    if response.status != ResponseStatus.COMPLETED:
        return redirect(_where_to_resume(response, structure))
    return render(request, "intake/response_complete.html", {"response": response})


@login_required
def stopped(request: HttpRequest, response_id: str) -> HttpResponse:
    response, structure = _load(request, response_id)
    if response.status != ResponseStatus.STOPPED:
        return redirect(_where_to_resume(response, structure))
    node = structure.by_link_id.get(response.stopped_by_link_id)
    return render(
        request,
        "intake/response_stopped.html",
        {"response": response, "explanation": node.disqualifying_explanation if node else ""},
    )
