"""Our records turned into MDI request bodies (reference §3, §5.1). Pure functions."""

from typing import Any

from intake.models import CHOICE_TYPES, ItemType, QuestionnaireResponse
from intake.selectors import EarlierStop
from intake.structure import version_structure_load
from patients.models import Patient, SexAtBirth

QUESTION_MAX = 255  # MDI rejects longer question text; the rest goes to `description`
MDI_GENDER = {SexAtBirth.MALE: 1, SexAtBirth.FEMALE: 2}  # ISO 5218, the only values MDI accepts
MDI_PHONE_TYPE_CELL = 2


def mdi_phone(digits: str) -> str:
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"


def mdi_patient_payload(
    *, patient: Patient, email: str, driver_license_file_id: str | None
) -> dict[str, Any]:
    """Identity exactly as the patient entered it: nothing is cut to fit. Entry forms enforce
    MDI's limits, and the send gate refuses a record that does not fit (never a silent cut,
    which once turned a street into "12345 North Martin Luther King Juni")."""
    address = patient.shipping_address or {}
    payload: dict[str, Any] = {
        "first_name": patient.legal_first_name,
        "last_name": patient.legal_last_name,
        "email": email,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "gender": MDI_GENDER[patient.sex_at_birth],
        "phone_number": mdi_phone(patient.phone),
        "phone_type": MDI_PHONE_TYPE_CELL,
        "address": {
            "address": address.get("line1", ""),
            "address2": (address.get("line2") or None),
            "zip_code": address.get("zip", "").replace("-", ""),  # MDI: 5 or 9 digits
            "city_name": address.get("city", ""),
            "state_name": address.get("state", ""),
        },
        "metadata": str(patient.public_id),
    }
    if driver_license_file_id:  # the photo ID belongs on the MDI patient (reference §3)
        payload["driver_license_id"] = driver_license_file_id
    return payload


def _mdi_type(item_type: str) -> str:
    if item_type == ItemType.BOOLEAN:
        return "boolean"
    if item_type in {ItemType.INTEGER, ItemType.DECIMAL}:
        return "number"
    return "string"


def _mdi_answer(entry: dict[str, Any]) -> str:
    """Answers are non-empty strings; booleans as "true"/"false" (reference §5.1)."""
    if entry["type"] == ItemType.BOOLEAN:
        return "true" if entry["value"] and entry["value"][0] is True else "false"
    if entry["type"] in CHOICE_TYPES:
        text = ", ".join(entry.get("display") or [])
    elif entry["type"] == ItemType.ATTACHMENT:
        text = "Photo attached to this case"
    else:
        text = ", ".join(str(v) for v in entry["value"])
    if entry.get("band"):  # a total: the clinician reads its severity band beside it
        text = f"{text} ({entry['band']})"
    return text.strip() or "Not answered"


CODE_SYSTEM_NAMES = {"http://loinc.org": "LOINC", "http://snomed.info/sct": "SNOMED CT"}


def _codes_text(codes: tuple[dict[str, Any], ...]) -> str:
    """The question's standard codes, so the clinician can tell which instrument item it is."""
    named = [
        f"{CODE_SYSTEM_NAMES.get(c.get('system', ''), c.get('system') or 'code')} {c['code']}"
        for c in codes
    ]
    return "Coded as " + ", ".join(named)


def mdi_case_questions(*, response: QuestionnaireResponse) -> list[dict[str, Any]]:
    """The completed intake as MDI case questions, with the wording the patient saw."""
    structure = version_structure_load(version=response.version)
    questions = []
    for link_id in response.answer_order:
        entry = response.answers[link_id]
        node = structure.by_link_id.get(link_id)
        text = f"{entry.get('prefix', '')} {entry['text']}".strip()
        question: dict[str, Any] = {
            "question": text[:QUESTION_MAX],
            "answer": _mdi_answer(entry),
            "type": _mdi_type(entry["type"]),
            "important": bool(node and node.is_important_for_clinician),
            "display_in_pdf": True,
        }
        description = [text[QUESTION_MAX:]] if len(text) > QUESTION_MAX else []
        if node is not None and node.codes:
            description.append(_codes_text(node.codes))
        if description:
            question["description"] = "\n".join(description)
        if entry["type"] in CHOICE_TYPES and node is not None:
            question["displayed_options"] = [option.display for option in node.options]
        questions.append(question)
    return questions


def mdi_earlier_stop_questions(*, stops: list[EarlierStop]) -> list[dict[str, Any]]:
    """Earlier intakes a disqualifying answer stopped, as extra case questions, so the
    clinician sees that the patient answered differently before. Marked important."""
    questions = []
    for stop in stops:
        text = (
            f"Earlier intake stopped: {stop.stopped_at.date().isoformat()}, "
            f"at question: {stop.question or 'not recorded'}"
        )
        question: dict[str, Any] = {
            "question": text[:QUESTION_MAX],
            "answer": stop.answer.strip() or "Not recorded",
            "type": "string",
            "important": True,
            "display_in_pdf": True,
        }
        if len(text) > QUESTION_MAX:
            question["description"] = text[QUESTION_MAX:]
        questions.append(question)
    return questions


def mdi_case_payload(
    *,
    patient_id: str,
    case_public_id: str,
    questions: list[dict],
    file_ids: list[str],
    offering_ids: list[str],
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "patient_id": patient_id,
        "metadata": case_public_id,
        "hold_status": False,
        "case_questions": questions,
        "case_offerings": [{"offering_id": offering_id} for offering_id in offering_ids],
    }
    if file_ids:  # MDI rejects an empty case_files array (reference §4)
        payload["case_files"] = file_ids
    return payload
