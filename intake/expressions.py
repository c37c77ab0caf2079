"""SDC expressions (FHIRPath), evaluated on the server by fhirpathpy, never by our own code.

What is supported, and what import refuses, is listed in docs/fhir-expressions.md:
`calculatedExpression` (a score computed at completion), `enableWhenExpression` and
`variable`, all in text/fhirpath.

Expressions see the response as FHIR: `%resource` is a QuestionnaireResponse built from the
answers given so far, in which every chosen option's Coding carries its `ordinalValue` and
`itemWeight` extensions (as SDC form fillers do), because fhirpathpy has no `ordinal()`/
`weight()`. A score is therefore written
    %resource.repeat(item).where(linkId in (...)).answer.value
        .extension('http://hl7.org/fhir/StructureDefinition/ordinalValue').value
        .aggregate($total + $this, 0)
(`sum()` cannot add the extension values fhirpathpy returns; `aggregate` can). Variables are
evaluated in order, root first then from the outermost group in, and are visible to the
expressions below them as `%name`. The focus of every expression is the response itself.
"""

import logging
from decimal import Decimal
from typing import Any

from antlr4 import CommonTokenStream, InputStream, Token
from antlr4.error.ErrorListener import ErrorListener
from fhirpathpy import evaluate
from fhirpathpy.models import models
from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

from intake.fhir_urls import (
    EXT_ORDINAL,
    EXT_WEIGHT,
    FHIR_EXT,
    FHIRPATH,
    SDC_EXT,
)
from intake.models import CHOICE_TYPES, ItemType
from intake.structure import ItemNode, VariableNode, VersionStructure

logger = logging.getLogger(__name__)

# Expressions we deliberately do not run: each would fill or offer answers on the patient's
# behalf (or query a server), which this engine does not do. Refused at import, by name.
REFUSED_EXPRESSIONS = {
    SDC_EXT + "sdc-questionnaire-initialExpression": "initialExpression",
    SDC_EXT + "sdc-questionnaire-answerExpression": "answerExpression",
    SDC_EXT + "sdc-questionnaire-candidateExpression": "candidateExpression",
    SDC_EXT + "sdc-questionnaire-contextExpression": "contextExpression",
    SDC_EXT + "sdc-questionnaire-itemPopulationContext": "itemPopulationContext",
    SDC_EXT + "sdc-questionnaire-launchContext": "launchContext",
    SDC_EXT + "sdc-questionnaire-answerOptionsToggleExpression": "answerOptionsToggleExpression",
    FHIR_EXT + "cqf-expression": "cqf-expression",
    FHIR_EXT + "cqf-calculatedValue": "cqf-calculatedValue",
}
R4 = models["r4"]


class ExpressionError(Exception):
    """An expression that fhirpathpy could not evaluate."""


class _CollectingErrorListener(ErrorListener):
    def __init__(self) -> None:
        self.messages: list[str] = []

    def syntaxError(self, recognizer, offendingSymbol, line, column, msg, e):
        self.messages.append(f"column {column + 1}: {msg}")


def expression_syntax_problems(expression: str) -> list[str]:
    """fhirpathpy's own grammar, with errors collected: its `evaluate` silently ignores them."""
    listener = _CollectingErrorListener()
    lexer = FHIRPathLexer(InputStream(expression))
    lexer.removeErrorListeners()
    lexer.addErrorListener(listener)
    tokens = CommonTokenStream(lexer)
    parser = FHIRPathParser(tokens)
    parser.removeErrorListeners()
    parser.addErrorListener(listener)
    parser.expression()
    if not listener.messages and tokens.LA(1) != Token.EOF:
        listener.messages.append(f"unexpected '{tokens.LT(1).text}' after the expression")
    return listener.messages


def expression_problems(expression: dict[str, Any], *, variable_names: list[str]) -> list[str]:
    """Why an SDC Expression cannot be run here ([] if it can): language, syntax, and a trial
    run on an empty response (an unknown function or variable fails there)."""
    language = expression.get("language")
    text = expression.get("expression")
    if language != FHIRPATH:
        return [f"language '{language}' is not supported (only {FHIRPATH})"]
    if not text or not isinstance(text, str):
        return ["the expression text is missing (a reference alone is not supported)"]
    if syntax := expression_syntax_problems(text):
        return [f"'{text}' does not parse: {'; '.join(syntax)}"]
    empty = {"resourceType": "QuestionnaireResponse", "status": "in-progress", "item": []}
    context = {"resource": empty, "context": empty, **{name: [] for name in variable_names}}
    try:
        evaluate(empty, text, context, R4)
    except Exception as exc:
        return [f"'{text}' cannot be evaluated: {exc}"]
    return []


# --- the response as FHIR, for expressions -----------------------------------------------------


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _answer_values(node: ItemNode, answer: list[Any]) -> list[dict[str, Any]]:
    out = []
    for value in answer:
        if node.type in CHOICE_TYPES:
            text = str(value)
            if text.startswith("other:"):
                out.append({"valueString": text.removeprefix("other:")})
                continue
            option = next((o for o in node.options if o.code == text), None)
            coding: dict[str, Any] = {"code": text}
            extensions = []
            if option is not None and option.ordinal_value is not None:
                extensions.append(
                    {"url": EXT_ORDINAL, "valueDecimal": _number(option.ordinal_value)}
                )
            if option is not None and option.item_weight is not None:
                extensions.append({"url": EXT_WEIGHT, "valueDecimal": _number(option.item_weight)})
            if extensions:
                coding["extension"] = extensions
            out.append({"valueCoding": coding})
        elif node.type == ItemType.BOOLEAN:
            out.append({"valueBoolean": bool(value)})
        elif node.type == ItemType.INTEGER:
            out.append({"valueInteger": int(value)})
        elif node.type == ItemType.DECIMAL:
            out.append({"valueDecimal": _number(Decimal(str(value)))})
        elif node.type == ItemType.DATE:
            out.append({"valueDate": str(value)})
        else:
            out.append({"valueString": str(value)})
    return out


def response_resource(*, structure: VersionStructure, answers: dict[str, list[Any]]) -> dict:
    """The answers as a QuestionnaireResponse, nested as the questionnaire is (groups kept
    only when something under them is answered)."""

    def build(parent: str | None) -> list[dict]:
        items = []
        for node in structure.ordered:
            if node.parent_link_id != parent:
                continue
            entry: dict[str, Any] = {"linkId": node.link_id}
            if answer := answers.get(node.link_id):
                entry["answer"] = _answer_values(node, answer)
            if children := build(node.link_id):
                entry["item"] = children
            if "answer" in entry or "item" in entry:
                items.append(entry)
        return items

    return {"resourceType": "QuestionnaireResponse", "status": "in-progress", "item": build(None)}


# --- evaluation -------------------------------------------------------------------------------


def _run(text: str, resource: dict, variables: dict[str, list[Any]]) -> list[Any]:
    try:
        return evaluate(
            resource, text, {"resource": resource, "context": resource, **variables}, R4
        )
    except Exception as exc:
        raise ExpressionError(f"'{text}': {exc}") from exc


def _variables_in_scope(node: ItemNode | None, structure: VersionStructure) -> list[VariableNode]:
    chain: list[ItemNode] = []
    while node is not None:
        chain.append(node)
        node = structure.by_link_id.get(node.parent_link_id or "")
    scoped = list(structure.variables)
    for ancestor in reversed(chain):
        scoped += ancestor.variables
    return scoped


def _evaluate_for(
    node: ItemNode, text: str, structure: VersionStructure, resource: dict
) -> list[Any]:
    values: dict[str, list[Any]] = {}
    for variable in _variables_in_scope(node, structure):
        values[variable.name] = _run(variable.expression, resource, values)
    return _run(text, resource, values)


def enable_when_expression_matches(
    node: ItemNode, structure: VersionStructure, answers: dict[str, list[Any]]
) -> bool:
    """SDC: the item is enabled when the expression is exactly `true`. A failure shows the
    item: asking one question too many is safer than hiding one the clinician needs."""
    resource = response_resource(structure=structure, answers=answers)
    try:
        result = _evaluate_for(node, node.enable_when_expression, structure, resource)
    except ExpressionError:
        logger.exception("enableWhenExpression of %s failed; the item is shown", node.link_id)
        return True
    return result == [True]


def calculated_answers(
    *, structure: VersionStructure, answers: dict[str, list[Any]]
) -> dict[str, list[Any]]:
    """Every calculated item's answer, in display order (a later total may use an earlier
    one). An empty or non-numeric result leaves the item unanswered."""
    known = dict(answers)
    calculated: dict[str, list[Any]] = {}
    for node in structure.ordered:
        if not node.calculated_expression:
            continue
        resource = response_resource(structure=structure, answers=known)
        try:
            result = _evaluate_for(node, node.calculated_expression, structure, resource)
        except ExpressionError:
            logger.exception("calculatedExpression of %s failed", node.link_id)
            continue
        value = _single_number(result)
        if value is None:
            continue
        answer = [int(value)] if node.type == ItemType.INTEGER else [str(value)]
        calculated[node.link_id] = known[node.link_id] = answer
    return calculated


def _single_number(result: list[Any]) -> Decimal | None:
    if len(result) != 1 or isinstance(result[0], bool):
        return None
    try:
        return Decimal(str(result[0]))
    except ArithmeticError:
        return None


def structure_expression_problems(structure: VersionStructure) -> list[str]:
    """Publish-time check of every expression, with the variables in its scope: an advisor
    may have typed one in the admin since the import checked it."""
    problems: list[str] = []
    for node in structure.ordered:
        scope = _variables_in_scope(node, structure)
        names = [v.name for v in scope[: len(scope) - len(node.variables)]]
        for variable in node.variables:
            problems += _described(node, f"variable '{variable.name}'", variable.expression, names)
            names.append(variable.name)
        for kind in ("calculated_expression", "enable_when_expression"):
            if text := getattr(node, kind):
                problems += _described(node, kind.replace("_", " "), text, names)
    names = []
    for variable in structure.variables:
        problems += [
            f"questionnaire variable '{variable.name}': {p}"
            for p in expression_problems(
                {"language": FHIRPATH, "expression": variable.expression}, variable_names=names
            )
        ]
        names.append(variable.name)
    return problems


def _described(node: ItemNode, what: str, text: str, names: list[str]) -> list[str]:
    return [
        f"'{node.link_id}' {what}: {p}"
        for p in expression_problems(
            {"language": FHIRPATH, "expression": text}, variable_names=names
        )
    ]
