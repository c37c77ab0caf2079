"""Every read of questionnaires and responses."""

from django.db.models import QuerySet

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
            "question": " ".join(part for part in (entry.get("prefix"), entry["text"]) if part),
            "answer": ", ".join(str(v) for v in (entry.get("display") or entry.get("value") or [])),
        }
        for link_id in response.answer_order
        if (entry := response.answers.get(link_id))
    ]
