"""FHIR import/export of scored instruments, exclusive options, hidden items and SDC expressions.

Kept beside intake/fhir.py so that module only calls in: each `parse_*` returns True when it
handled an extension (adding any problem to `problems`), and each `*_to_fhir` gives the
extensions to add. Supported, with their element:

- answerOption: optionExclusive (valueBoolean), ordinalValue and itemWeight (valueDecimal;
  read on the answerOption or on its valueCoding, written on the answerOption);
- item: sdc calculatedExpression and enableWhenExpression, variable,
  and our score-band (a total's severity bands: low, high, label);
- root: variable.

SDC expressions that would fill or offer answers (initialExpression, answerExpression,
candidateExpression, ...) are refused by name; docs/fhir-expressions.md has the whole list.
"""

from decimal import Decimal, InvalidOperation
from typing import Any

from intake.expressions import REFUSED_EXPRESSIONS, expression_problems
from intake.fhir_urls import (
    EXT_CALCULATED,
    EXT_ENABLE_WHEN_EXPRESSION,
    EXT_OPTION_EXCLUSIVE,
    EXT_ORDINAL,
    EXT_SCORE_BAND,
    EXT_VARIABLE,
    EXT_WEIGHT,
    FHIRPATH,
)
from intake.structure import ItemNode, OptionNode, VariableNode

# Read into AnswerOption fields, so not also kept among an option's verbatim extensions.
SCORING_OPTION_URLS = frozenset({EXT_OPTION_EXCLUSIVE, EXT_ORDINAL, EXT_WEIGHT})


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


# --- export -----------------------------------------------------------------------------------


def option_extensions_to_fhir(option: OptionNode) -> dict[str, Any]:
    ext: list[dict[str, Any]] = []
    if option.is_exclusive:
        ext.append({"url": EXT_OPTION_EXCLUSIVE, "valueBoolean": True})
    if option.ordinal_value is not None:
        ext.append({"url": EXT_ORDINAL, "valueDecimal": _number(option.ordinal_value)})
    if option.item_weight is not None:
        ext.append({"url": EXT_WEIGHT, "valueDecimal": _number(option.item_weight)})
    return {"extension": ext} if ext else {}


def _variables_to_fhir(variables: tuple[VariableNode, ...]) -> list[dict[str, Any]]:
    return [
        {
            "url": EXT_VARIABLE,
            "valueExpression": {"name": v.name, "language": FHIRPATH, "expression": v.expression},
        }
        for v in variables
    ]


def root_variables_to_fhir(variables: tuple[VariableNode, ...]) -> list[dict[str, Any]]:
    return _variables_to_fhir(variables)


def scoring_extensions_to_fhir(node: ItemNode) -> list[dict[str, Any]]:
    ext: list[dict[str, Any]] = []  # questionnaire-hidden: intake.fhir_kinds writes it
    ext += _variables_to_fhir(node.variables)
    if node.calculated_expression:
        ext.append(
            {
                "url": EXT_CALCULATED,
                "valueExpression": {"language": FHIRPATH, "expression": node.calculated_expression},
            }
        )
    if node.enable_when_expression:
        ext.append(
            {
                "url": EXT_ENABLE_WHEN_EXPRESSION,
                "valueExpression": {
                    "language": FHIRPATH,
                    "expression": node.enable_when_expression,
                },
            }
        )
    for band in node.score_bands:
        ext.append(
            {
                "url": EXT_SCORE_BAND,
                "extension": [
                    {"url": "low", "valueDecimal": _number(band.low)},
                    {"url": "high", "valueDecimal": _number(band.high)},
                    {"url": "label", "valueString": band.label},
                ],
            }
        )
    return ext


# --- import -----------------------------------------------------------------------------------


def scoring_spec_defaults() -> dict[str, Any]:
    return {  # questionnaire-hidden is read by intake.fhir_kinds.item_display_spec
        "calculated_expression": "",
        "enable_when_expression": "",
        "variables": [],
        "score_bands": [],
    }


def _expression_text(ext: dict[str, Any], where: str, problems: list[str]) -> str | None:
    """The FHIRPath text of a valueExpression; None (with a problem) if it is not FHIRPath."""
    expression = ext.get("valueExpression")
    if not isinstance(expression, dict):
        problems.append(f"{where}: '{ext.get('url')}' needs a valueExpression")
        return None
    if expression.get("language") != FHIRPATH:
        problems.append(
            f"{where}: expression language '{expression.get('language')}' is not supported "
            f"(only {FHIRPATH})"
        )
        return None
    if not isinstance(expression.get("expression"), str) or not expression["expression"]:
        problems.append(f"{where}: the expression text is missing (a reference is not supported)")
        return None
    return expression["expression"]


def _variable(ext: dict[str, Any], where: str, problems: list[str]) -> dict[str, str] | None:
    text = _expression_text(ext, where, problems)
    name = (ext.get("valueExpression") or {}).get("name")
    if text is None:
        return None
    if not name or not str(name).isidentifier():
        problems.append(f"{where}: a variable needs a name (letters, digits, underscore)")
        return None
    return {"name": name, "expression": text}


def _refused(url: str, where: str, problems: list[str]) -> bool:
    if url in REFUSED_EXPRESSIONS:
        problems.append(
            f"{where}: {REFUSED_EXPRESSIONS[url]} is not supported (see docs/fhir-expressions.md)"
        )
        return True
    return False


def parse_root_extension(
    ext: dict[str, Any], variables: list[dict[str, str]], problems: list[str]
) -> bool:
    url = ext.get("url", "")
    if _refused(url, "root", problems):
        return True
    if url == EXT_VARIABLE:
        if (variable := _variable(ext, "root", problems)) is not None:
            variables.append(variable)
        return True
    return False


def parse_scoring_extension(
    ext: dict[str, Any], spec: dict[str, Any], where: str, problems: list[str]
) -> bool:
    url = ext.get("url", "")
    if _refused(url, where, problems):
        return True
    if url == EXT_VARIABLE:
        if (variable := _variable(ext, where, problems)) is not None:
            spec["variables"].append(variable)
    elif url == EXT_CALCULATED:
        spec["calculated_expression"] = _expression_text(ext, where, problems) or ""
    elif url == EXT_ENABLE_WHEN_EXPRESSION:
        spec["enable_when_expression"] = _expression_text(ext, where, problems) or ""
    elif url == EXT_SCORE_BAND:
        parts = {e.get("url"): e for e in ext.get("extension", [])}
        try:
            low = Decimal(str(parts["low"]["valueDecimal"]))
            high = Decimal(str(parts["high"]["valueDecimal"]))
            label = str(parts["label"]["valueString"])
        except (KeyError, TypeError, InvalidOperation):
            problems.append(f"{where}: a score-band needs low, high (valueDecimal) and label")
            return True
        spec["score_bands"].append({"low": str(low), "high": str(high), "label": label})
    else:
        return False
    return True


def parse_option_extensions(
    option: dict[str, Any], where: str, problems: list[str]
) -> dict[str, Any]:
    """The option's scores and exclusivity, as AnswerOption field values."""
    fields: dict[str, Any] = {}
    coding_ext = (option.get("valueCoding") or {}).get("extension", [])
    for ext in [*option.get("extension", []), *coding_ext]:
        url = ext.get("url")
        if url == EXT_OPTION_EXCLUSIVE:
            fields["is_exclusive"] = ext.get("valueBoolean") is True
        elif url in (EXT_ORDINAL, EXT_WEIGHT):
            try:
                value = Decimal(str(ext["valueDecimal"]))
            except (KeyError, InvalidOperation):
                problems.append(f"{where}: '{url}' needs a valueDecimal")
                continue
            fields["ordinal_value" if url == EXT_ORDINAL else "item_weight"] = value
        # Any other extension is kept verbatim by intake.fhir_kinds and exported again.
    return fields


def expression_scope_problems(
    root_variables: list[dict[str, str]], items: list[dict[str, Any]]
) -> list[str]:
    """Each expression checked by fhirpathpy with the variables in its scope: the root's, then
    each enclosing item's, in declaration order (a variable sees only those before it)."""
    problems: list[str] = []

    def check(text: str, names: list[str], where: str) -> None:
        problems.extend(
            f"{where}: {p}"
            for p in expression_problems(
                {"language": FHIRPATH, "expression": text}, variable_names=names
            )
        )

    def declare(variables: list[dict[str, str]], names: list[str], where: str) -> list[str]:
        scope = list(names)
        for variable in variables:
            check(variable["expression"], scope, f"{where} variable '{variable['name']}'")
            scope.append(variable["name"])
        return scope

    def walk(specs: list[dict[str, Any]], names: list[str], path: str) -> None:
        for index, spec in enumerate(specs):  # worded as intake.fhir._parse_items words it
            where = f"{path}item[{index}] ({spec['link_id']})"
            scope = declare(spec["variables"], names, where)
            if spec["calculated_expression"]:
                check(spec["calculated_expression"], scope, f"{where} calculatedExpression")
            if spec["enable_when_expression"]:
                check(spec["enable_when_expression"], scope, f"{where} enableWhenExpression")
            walk(spec["children"], scope, f"{where}.")

    walk(items, declare(root_variables, [], "root"), "")
    return problems
