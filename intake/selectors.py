"""Every read of questionnaires and responses."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from core.security import get_owned_or_404
from intake.models import (
    Questionnaire,
    QuestionnaireResponse,
    QuestionnaireVersion,
    ResponseStatus,
    VersionStatus,
)
from patients.models import Patient


def questionnaire_version_published(*, slug: str) -> QuestionnaireVersion | None:
    """The one version served to new intakes, or None if the questionnaire is closed."""
    return (
        QuestionnaireVersion.objects.select_related("questionnaire")
        .filter(questionnaire__slug=slug, status=VersionStatus.PUBLISHED)
        .first()
    )


# The questionnaire a patient picked (an offering's "Start a visit"), kept in the session
# across sign-up, eligibility and identity until their next intake starts.
CHOSEN_QUESTIONNAIRE_SESSION_KEY = "intake_chosen_questionnaire"


def questionnaire_for_new_intake(*, slug: str | None) -> Questionnaire | None:
    """The published questionnaire the patient chose, or the default when they chose none
    (or chose one that is not published any more)."""
    if slug:
        chosen = (
            Questionnaire.objects.filter(slug=slug, versions__status=VersionStatus.PUBLISHED)
            .distinct()
            .first()
        )
        if chosen is not None:
            return chosen
    return questionnaire_default()


def questionnaire_default() -> Questionnaire | None:
    """The questionnaire a new patient starts (the brand's only product for now)."""
    return (
        Questionnaire.objects.filter(versions__status=VersionStatus.PUBLISHED)
        .order_by("pk")
        .first()
    )


def questionnaire_response_get_for_patient(
    *, patient: Patient, response_id: str
) -> QuestionnaireResponse:
    """The one way a view gets a response: another patient's is a 404, never a 403 (and a
    security event)."""
    return get_owned_or_404(
        QuestionnaireResponse.objects.select_related("version__questionnaire"),
        owner={"patient": patient},
        public_id=response_id,
    )


def questionnaire_response_current_for_patient(*, patient: Patient) -> QuestionnaireResponse | None:
    """The patient's newest unfinished intake, which they resume wherever they sign in."""
    return (
        QuestionnaireResponse.objects.select_related("version__questionnaire")
        .filter(patient=patient, status=ResponseStatus.IN_PROGRESS)
        .order_by("-updated_at")
        .first()
    )


def questionnaire_responses_for_patient(*, patient: Patient) -> QuerySet[QuestionnaireResponse]:
    return QuestionnaireResponse.objects.select_related("version__questionnaire").filter(
        patient=patient
    )


def questionnaire_response_snapshot(*, response: QuestionnaireResponse) -> list[dict]:
    """A submitted intake as the patient saw it: each question's stored wording and the
    labels of the answers given, in the order shown. Never re-read from the live version."""
    return [
        {
            "question": _as_shown(entry),
            "answer": ", ".join(str(v) for v in (entry.get("display") or entry.get("value") or [])),
        }
        for link_id in response.answer_order
        if (entry := response.answers.get(link_id))
    ]


def _as_shown(entry: dict) -> str:
    return " ".join(part for part in (entry.get("prefix"), entry["text"]) if part)


def questionnaire_response_stop_question(*, response: QuestionnaireResponse) -> str:
    """The question that stopped this intake, worded as the patient saw it ("" if none).

    Read from the response's own encrypted snapshot, never the live version, so a later
    rewording of the questionnaire cannot change what the record says was asked.
    """
    entry = response.answers.get(response.stopped_by_link_id or "")
    return _as_shown(entry) if entry else ""


def questionnaire_new_intake_allowed_at(
    *, patient: Patient, questionnaire: Questionnaire
) -> datetime.datetime | None:
    """When this patient may start `questionnaire` again after a disqualifying answer stopped
    it, or None if they may now. Any version counts: a new version is the same treatment.
    INTAKE_DISQUALIFICATION_WAIT_DAYS = 0 turns the wait off."""
    days = settings.INTAKE_DISQUALIFICATION_WAIT_DAYS
    if days <= 0:
        return None
    last_stop = (
        QuestionnaireResponse.objects.filter(
            patient=patient,
            version__questionnaire=questionnaire,
            status=ResponseStatus.STOPPED,
            stopped_at__isnull=False,
        )
        .order_by("-stopped_at")
        .values_list("stopped_at", flat=True)
        .first()
    )
    if last_stop is None:
        return None
    allowed_at = last_stop + datetime.timedelta(days=days)
    return allowed_at if allowed_at > timezone.now() else None


@dataclass(frozen=True)
class EarlierStop:
    """An intake a disqualifying answer stopped: when, at which question, and the answer,
    worded as the patient saw them (from the response's own snapshot)."""

    stopped_at: datetime.datetime
    question: str
    answer: str


def questionnaire_response_earlier_stops(
    *, patient: Patient, questionnaire: Questionnaire, before: datetime.datetime, days: int
) -> list[EarlierStop]:
    """The patient's stopped intakes of `questionnaire` in the `days` before `before`,
    oldest first: what the clinician reviewing a later visit should know about."""
    responses = QuestionnaireResponse.objects.filter(
        patient=patient,
        version__questionnaire=questionnaire,
        status=ResponseStatus.STOPPED,
        stopped_at__gte=before - datetime.timedelta(days=days),
        stopped_at__lt=before,
    ).order_by("stopped_at", "pk")
    stops = []
    for response in responses:
        entry = response.answers.get(response.stopped_by_link_id or "") or {}
        given = entry.get("display") or entry.get("value") or []
        stops.append(
            EarlierStop(
                stopped_at=response.stopped_at,
                question=questionnaire_response_stop_question(response=response),
                answer=", ".join(str(value) for value in given),
            )
        )
    return stops
