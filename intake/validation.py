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

from intake.models import CHOICE_TYPES, EnableBehavior, EnableWhenOperator, ItemType
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
    return raw.strip()


def _comparable(item_type: str, value: Any) -> Any:
    if item_type == ItemType.DECIMAL or item_type == ItemType.INTEGER:
        return Decimal(str(value))
    if item_type == ItemType.DATE:
        return datetime.date.fromisoformat(str(value))
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
        return [], (["This question needs an answer."] if node.required else [])
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


def _validate_choice(node: ItemNode, values: list[str]) -> tuple[Answer, list[str]]:
    codes = {option.code for option in node.options}
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
            given = (system or {}).get(node.link_id, prior.get(node.link_id, []))
            values = [_as_raw(v) for v in given]
            answer, errors = _validate_item(replace(node, required=False), values)
        else:
            answer, errors = _validate_item(node, raw.get(node.link_id, []))
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
