"""The one rule set: what a valid answer is, derived from the item definitions.

`validate_step` checks one step's raw POST values; `validate_response` re-checks every step of
a whole response (a step validated earlier is never trusted). Both evaluate enable-when rules
against the answers being validated, discard answers to hidden items, apply `required` only to
enabled items, coerce types and report disqualifying answers separately from errors.

The same definitions drive rendering (intake.rendering: HTML5 constraints and the
data-enable-when attributes read by static/js/intake.js), so browser and server agree.
"""

import datetime
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from django.utils import timezone

from intake.models import (
    CHOICE_TYPES,
    EnableBehavior,
    EnableWhenOperator,
    ItemControl,
    ItemType,
)
from intake.structure import ItemNode, VersionStructure

# Answers are kept JSON-ready: bools, ints, decimals and dates as strings, codes as strings.
Answer = list[Any]
OTHER_PREFIX = "other:"  # an open-choice free-text answer is stored as "other:<text>"


@dataclass(frozen=True)
class Disqualification:
    link_id: str
    explanation: str


@dataclass
class ValidationResult:
    answers: dict[str, Answer] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    disqualifications: list[Disqualification] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors


# --- coercion ---------------------------------------------------------------------------------


def parse_answer(item_type: str, raw: str) -> Any:
    """Turn one raw string into a typed value, or raise ValueError with a patient message."""
    if item_type == ItemType.BOOLEAN:
        lowered = raw.strip().lower()
        if lowered in {"true", "yes", "1"}:
            return True
        if lowered in {"false", "no", "0"}:
            return False
        raise ValueError("Please choose yes or no.")
    if item_type == ItemType.INTEGER:
        try:
            return int(raw.strip())
        except ValueError:
            raise ValueError("Please enter a whole number.") from None
    if item_type == ItemType.DECIMAL:
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            raise ValueError("Please enter a number.") from None
        if not value.is_finite():
            raise ValueError("Please enter a number.")
        return str(value)
    if item_type == ItemType.DATE:
        try:
            return datetime.date.fromisoformat(raw.strip()).isoformat()
        except ValueError:
            raise ValueError("Please enter a date as YYYY-MM-DD.") from None
    if item_type in _EXTRA_PARSERS:
        return _EXTRA_PARSERS[item_type](raw.strip())
    return raw.strip()


def _parse_time(raw: str) -> str:
    try:
        value = datetime.time.fromisoformat(raw)
    except ValueError:
        raise ValueError("Please enter a time as HH:MM.") from None
    if value.tzinfo is not None:  # FHIR time is a time of day, never zoned
        raise ValueError("Please enter a time as HH:MM.")
    return value.replace(microsecond=0).isoformat()


def _parse_datetime(raw: str) -> str:
    try:
        value = datetime.datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError("Please enter a date and time as YYYY-MM-DD HH:MM.") from None
    if timezone.is_naive(value):
        # FHIR requires an offset once a time is given; the browser sends local time.
        value = timezone.make_aware(value)
    return value.replace(microsecond=0).isoformat()


def _parse_url(raw: str) -> str:
    # Only web addresses: a javascript:, data: or file: URL shown to the clinician is a hazard.
    parts = urlsplit(raw)
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc or " " in raw:
        raise ValueError("Please enter a web address starting with http:// or https://.")
    return raw


def _parse_quantity(raw: str) -> str:
    """A quantity answer is stored as "<number> <unit code>" (the unit may be absent)."""
    number, _, unit = raw.partition(" ")
    try:
        value = Decimal(number)
    except InvalidOperation:
        raise ValueError("Please enter a number.") from None
    if not value.is_finite():
        raise ValueError("Please enter a number.")
    return f"{value} {unit.strip()}".strip()


_EXTRA_PARSERS = {
    ItemType.TIME: _parse_time,
    ItemType.DATETIME: _parse_datetime,
    ItemType.URL: _parse_url,
    ItemType.QUANTITY: _parse_quantity,
}


def _comparable(item_type: str, value: Any) -> Any:
    if item_type == ItemType.DECIMAL or item_type == ItemType.INTEGER:
        return Decimal(str(value))
    if item_type == ItemType.DATE:
        return datetime.date.fromisoformat(str(value))
    if item_type == ItemType.TIME:
        return datetime.time.fromisoformat(str(value))
    if item_type == ItemType.DATETIME:
        return datetime.datetime.fromisoformat(str(value))
    return value


# --- enable-when ------------------------------------------------------------------------------


def _rule_matches(rule_question_type: str, operator: str, rule_answer: str, answer: Answer) -> bool:
    if operator == EnableWhenOperator.EXISTS:
        wants_answered = rule_answer.strip().lower() in {"true", "yes", "1"}
        return bool(answer) == wants_answered
    if not answer:
        return False  # FHIR: a comparison against an unanswered question is false
    try:
        expected = _comparable(rule_question_type, parse_answer(rule_question_type, rule_answer))
    except (ValueError, InvalidOperation):
        expected = rule_answer
    for given in answer:
        try:
            actual = _comparable(rule_question_type, given)
        except (ValueError, InvalidOperation):
            actual = given
        if _compare(operator, actual, expected):
            return True
    return False


def _compare(operator: str, actual: Any, expected: Any) -> bool:
    try:
        return {
            EnableWhenOperator.EQUALS: lambda: actual == expected,
            EnableWhenOperator.NOT_EQUALS: lambda: actual != expected,
            EnableWhenOperator.GREATER: lambda: actual > expected,
            EnableWhenOperator.LESS: lambda: actual < expected,
            EnableWhenOperator.GREATER_OR_EQUAL: lambda: actual >= expected,
            EnableWhenOperator.LESS_OR_EQUAL: lambda: actual <= expected,
        }[operator]()
    except TypeError:
        return False  # a value of another type never satisfies an ordering
    except KeyError:
        # Publish refuses an unknown operator; a version that slipped through still never
        # breaks the patient's page: the rule simply does not match.
        return False


def is_enabled(node: ItemNode, structure: VersionStructure, answers: dict[str, Answer]) -> bool:
    """An item shows when its own rules pass and its enclosing group shows."""
    if node.parent_link_id and not is_enabled(
        structure.by_link_id[node.parent_link_id], structure, answers
    ):
        return False
    if node.enable_when_expression:
        # Imported late: intake.expressions loads fhirpathpy, which rules need only here.
        from intake.expressions import enable_when_expression_matches

        return enable_when_expression_matches(node, structure, answers)
    if not node.enable_when:
        return True
    results = [
        _rule_matches(
            structure.by_link_id[rule.question].type
            if rule.question in structure.by_link_id
            else "string",
            rule.operator,
            rule.answer,
            answers.get(rule.question, []),
        )
        for rule in node.enable_when
    ]
    return any(results) if node.enable_behavior == EnableBehavior.ANY else all(results)


# --- validation -------------------------------------------------------------------------------


def _validate_item(node: ItemNode, raw_values: list[str]) -> tuple[Answer, list[str]]:
    values = [v for v in raw_values if v is not None and str(v).strip() != ""]
    if not values:
        # A read-only or hidden item the patient cannot fill in is never theirs to complete.
        missing = node.required and node.takes_patient_input
        return [], (["This question needs an answer."] if missing else [])
    if node.type == ItemType.ATTACHMENT:
        # Files are checked and stored by the upload service; here an answer is its reference.
        return values[:1], []
    if node.type in CHOICE_TYPES:
        return _validate_choice(node, values)
    if len(values) > 1:
        return [], ["Please give one answer."]
    raw = str(values[0])
    try:
        value = parse_answer(node.type, raw)
    except ValueError as exc:
        return [], [str(exc)]
    errors = []
    if node.max_length and isinstance(value, str) and len(value) > node.max_length:
        errors.append(f"Please keep this under {node.max_length} characters.")
    if node.type == ItemType.QUANTITY:
        errors.extend(_unit_errors(node, value))
    if node.type in {ItemType.INTEGER, ItemType.DECIMAL, ItemType.DATE}:
        errors.extend(_bounds_errors(node, value))
    return ([value] if not errors else []), errors


def _bounds_errors(node: ItemNode, value: Any) -> list[str]:
    actual = _comparable(node.type, value)
    if node.min_value and actual < _comparable(node.type, parse_answer(node.type, node.min_value)):
        return [
            f"Please enter {node.min_value} or more."
            if node.type != ItemType.DATE
            else f"Please enter a date on or after {node.min_value}."
        ]
    if node.max_value and actual > _comparable(node.type, parse_answer(node.type, node.max_value)):
        return [
            f"Please enter {node.max_value} or less."
            if node.type != ItemType.DATE
            else f"Please enter a date on or before {node.max_value}."
        ]
    return []


def _unit_errors(node: ItemNode, value: str) -> list[str]:
    unit = value.partition(" ")[2]
    allowed = [str(u.get("code", "")) for u in node.units]
    if allowed and unit not in allowed:
        return ["Please choose one of the units shown."]
    if not allowed and unit:
        return ["Please enter a number only."]
    return []


def _raw_for_item(node: ItemNode, raw: dict[str, list[str]]) -> list[str]:
    """What counts as the patient's input for `node`.

    Read-only and hidden items answer with their initial value whatever was posted; a
    quantity joins its number with the unit posted beside it (`<linkId>__unit`)."""
    if not node.takes_patient_input:
        return [_as_raw(v) for v in node.initial_answer]
    values = raw.get(node.link_id, [])
    if node.type == ItemType.QUANTITY and values:
        posted_unit = [u for u in raw.get(f"{node.link_id}{UNIT_SUFFIX}", []) if u]
        unit = (
            posted_unit[0] if posted_unit else (node.units[0].get("code", "") if node.units else "")
        )
        if unit and all(" " not in str(v).strip() for v in values):
            values = [f"{str(v).strip()} {unit}" if str(v).strip() else v for v in values]
    return values


UNIT_SUFFIX = "__unit"


def _validate_choice(node: ItemNode, values: list[str]) -> tuple[Answer, list[str]]:
    codes = {option.code for option in node.options}
    if node.item_control == ItemControl.AUTOCOMPLETE:
        # The text box offers the labels; a typed label is matched back to its option.
        by_label = {o.display.strip().lower(): o.code for o in node.options}
        values = [v if str(v) in codes else by_label.get(str(v).strip().lower(), v) for v in values]
    if not node.repeats and len(values) > 1:
        return [], ["Please choose one answer."]
    answer: Answer = []
    for value in values:
        value = str(value)
        if value in codes:
            answer.append(value)
        elif node.type == ItemType.OPEN_CHOICE:
            text = value.removeprefix(OTHER_PREFIX).strip()
            if node.max_length and len(text) > node.max_length:
                return [], [f"Please keep this under {node.max_length} characters."]
            answer.append(f"{OTHER_PREFIX}{text}")
        else:
            return [], ["Please choose one of the options shown."]
    if problem := _exclusive_problem(node, answer):
        return [], [problem]
    return answer, []


def _exclusive_problem(node: ItemNode, answer: Answer) -> str:
    """optionExclusive: "None of these" cannot stand beside an answer it contradicts."""
    if len(answer) < 2:
        return ""
    for option in node.options:
        if option.is_exclusive and option.code in answer:
            return f"“{option.display}” cannot be chosen together with other answers."
    return ""


def _disqualification(node: ItemNode, answer: Answer) -> Disqualification | None:
    if not node.disqualifying_answer or not answer:
        return None
    target = node.disqualifying_answer.strip().lower()
    for value in answer:
        shown = (
            str(value).lower() if not isinstance(value, bool) else ("true" if value else "false")
        )
        if shown == target:
            return Disqualification(
                link_id=node.link_id, explanation=node.disqualifying_explanation
            )
    return None


def _validate_items(
    nodes: list[ItemNode],
    structure: VersionStructure,
    raw: dict[str, list[str]],
    prior: dict[str, Answer],
    system: dict[str, Answer] | None = None,
) -> ValidationResult:
    """Validate `nodes` in display order. Earlier answers (this call's and `prior`) decide
    whether later items are enabled, exactly as the patient saw them appear.

    Hidden context items and calculated totals are answered by the system, never by the
    patient: what was posted for them is ignored, their value comes from `system` (falling
    back to `prior`), and they are never "required" of the patient."""
    result = ValidationResult()
    known = dict(prior)
    for node in nodes:
        known.pop(node.link_id, None)
    for node in nodes:
        if not node.is_answerable:
            continue
        if not is_enabled(node, structure, known):
            continue  # hidden: whatever was sent for it is discarded
        if node.is_answered_by_system:
            # Context facts and totals come from `system`; a hidden item the author gave an
            # initial value answers with it (FHIR questionnaire-hidden keeps its initial[x]).
            given = (system or {}).get(node.link_id, prior.get(node.link_id, []))
            values = [_as_raw(v) for v in given] or _raw_for_item(node, raw)
            answer, errors = _validate_item(replace(node, required=False), values)
        else:
            answer, errors = _validate_item(node, _raw_for_item(node, raw))
        if errors:
            result.errors[node.link_id] = errors
            continue
        if answer:
            result.answers[node.link_id] = answer
            known[node.link_id] = answer
            if (stop := _disqualification(node, answer)) is not None:
                result.disqualifications.append(stop)
    return result


def validate_step(
    *,
    structure: VersionStructure,
    step_link_id: str,
    raw: dict[str, list[str]],
    prior: dict[str, Answer],
    system: dict[str, Answer] | None = None,
) -> ValidationResult:
    """Validate one step's raw values; `prior` holds the answers already saved for other steps
    and `system` the answers the system gives (hidden context items)."""
    return _validate_items(structure.items_of_step(step_link_id), structure, raw, prior, system)


def validate_response(
    *, structure: VersionStructure, answers: dict[str, Answer]
) -> ValidationResult:
    """Re-validate a whole response from its stored answers, every step, in order. The
    system's own answers (context, totals) are taken as stored."""
    raw = {link_id: [_as_raw(v) for v in values] for link_id, values in answers.items()}
    nodes = [node for step in structure.steps for node in structure.items_of_step(step.link_id)]
    system = {
        n.link_id: answers[n.link_id]
        for n in nodes
        if n.is_answered_by_system and n.link_id in answers
    }
    return _validate_items(nodes, structure, raw, {}, system)


def _as_raw(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- enable-when rule definitions (checked at import and at publish) --------------------------

ORDERED_TYPES = frozenset(
    {ItemType.INTEGER, ItemType.DECIMAL, ItemType.DATE, ItemType.DATETIME, ItemType.TIME}
)
RULE_TARGET_TYPES = (
    ORDERED_TYPES
    | CHOICE_TYPES
    | {
        ItemType.BOOLEAN,
        ItemType.STRING,
        ItemType.TEXT,
        ItemType.URL,
    }
)


def enable_when_rule_problem(
    *, operator: str, answer: str, target_type: str | None, option_codes: list[str]
) -> str | None:
    """Why a rule could never be evaluated faithfully, or None when it can.

    A rule that names no question, an unknown operator, or an answer that cannot be compared
    with the question's answers (a code that is not an option, a word against a number)
    would silently hide or show the item for every patient, so it is refused up front."""
    if operator not in EnableWhenOperator.values:
        return f"has an unknown operator {operator!r}"
    if target_type is None:
        return "refers to a question that does not exist"
    if operator == EnableWhenOperator.EXISTS:
        if answer.strip().lower() not in {"true", "false"}:
            return "'exists' needs a true/false answer"
        return None
    if target_type not in RULE_TARGET_TYPES:
        return f"compares the answer of a '{target_type}' question, which is not supported"
    if operator not in {"=", "!="} and target_type not in ORDERED_TYPES:
        return f"uses {operator!r} on a '{target_type}' question, which has no order"
    if target_type in CHOICE_TYPES:
        if answer not in option_codes and target_type != ItemType.OPEN_CHOICE:
            return f"expects {answer!r}, which is not one of the question's options"
        return None
    try:
        parse_answer(target_type, answer)
    except ValueError:
        return f"expects {answer!r}, which is not a valid '{target_type}' answer"
    return None
