"""Facts the patient already gave at eligibility and identity, as answers of hidden items.

A questionnaire that wants one declares a hidden item (questionnaire-hidden) with one of the
link ids below; its enableWhen rules can then depend on it like on any answer. The system
fills these answers when a response starts and again before every step is saved (the patient
may have corrected their identity meanwhile), so the stored wording snapshot and the FHIR
QuestionnaireResponse say exactly what the rules were evaluated against.
"""

import datetime
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from intake.structure import VersionStructure
from patients.models import Patient

CONTEXT_SEX_AT_BIRTH = "context-sex-at-birth"
CONTEXT_AGE = "context-age"


def _sex_at_birth(patient: Patient, today: datetime.date) -> list[Any]:
    # The identity form stores patients.models.SexAtBirth values ("female", "male"); a
    # questionnaire's options for this item use the same codes.
    return [patient.sex_at_birth] if patient.sex_at_birth else []


def _age(patient: Patient, today: datetime.date) -> list[Any]:
    born = patient.date_of_birth
    if born is None:
        return []
    had_birthday = (today.month, today.day) >= (born.month, born.day)
    return [today.year - born.year - (0 if had_birthday else 1)]


CONTEXT_SOURCES: dict[str, Callable[[Patient, datetime.date], list[Any]]] = {
    CONTEXT_SEX_AT_BIRTH: _sex_at_birth,
    CONTEXT_AGE: _age,
}


def context_answers(
    *, patient: Patient, structure: VersionStructure, today: datetime.date | None = None
) -> dict[str, list[Any]]:
    """The answers of this version's hidden context items, from the patient as they are now.
    An unknown fact is an empty answer (its item stays unanswered)."""
    today = today or timezone.localdate()
    return {
        node.link_id: CONTEXT_SOURCES[node.link_id](patient, today)
        for node in structure.ordered
        if node.is_hidden and node.link_id in CONTEXT_SOURCES
    }
