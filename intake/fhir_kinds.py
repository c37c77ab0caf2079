"""FHIR R4 Questionnaire constructs beyond the engine's first subset, read and written here.

Codes (Questionnaire.code, item.code), answer options of every R4 kind (valueCoding with its
system, valueString, valueInteger, valueDate, valueTime, initialSelected), answerValueSet
pointing at a contained ValueSet, initial[x], the SDC display extensions (entryFormat,
itemControl, questionnaire-hidden, questionnaire-unit/unitOption) and the checks that refuse
what the engine cannot represent faithfully (modifierExtension, external ValueSets, rules it
could not evaluate). intake.fhir calls these; keeping them apart keeps that module readable.
"""

from decimal import Decimal, InvalidOperation
from typing import Any

from intake.fhir_urls import (
    EXT_ENTRY_FORMAT,
    EXT_HIDDEN,
    EXT_ITEM_CONTROL,
    EXT_UNIT,
    EXT_UNIT_OPTION,
    ITEM_CONTROL_SYSTEM,
    UCUM,
)
from intake.models import CHOICE_TYPES, ItemControl, ItemType, OptionKind
from intake.structure import ItemNode, OptionNode
from intake.validation import enable_when_rule_problem, parse_answer

OPTION_VALUE_KEYS = {
    "valueCoding": OptionKind.CODING,
    "valueString": OptionKind.STRING,
    "valueInteger": OptionKind.INTEGER,
    "valueDate": OptionKind.DATE,
    "valueTime": OptionKind.TIME,
}
OPTION_KIND_KEY = {kind: key for key, kind in OPTION_VALUE_KEYS.items()}
# The value[x] a question of each type answers with, and takes as initial[x]. Choice,
# quantity and attachment questions have rules of their own.
SCALAR_VALUE_KEY = {
    ItemType.BOOLEAN: "valueBoolean",
    ItemType.INTEGER: "valueInteger",
    ItemType.DECIMAL: "valueDecimal",
    ItemType.DATE: "valueDate",
    ItemType.DATETIME: "valueDateTime",
    ItemType.TIME: "valueTime",
    ItemType.STRING: "valueString",
    ItemType.TEXT: "valueString",
    ItemType.URL: "valueUri",
}
# The answer[x] an enableWhen may use against each question type (besides `exists`).
RULE_ANSWER_KEYS = {
    ItemType.BOOLEAN: {"answerBoolean"},
    ItemType.INTEGER: {"answerInteger", "answerDecimal"},
    ItemType.DECIMAL: {"answerDecimal", "answerInteger"},
    ItemType.DATE: {"answerDate"},
    ItemType.DATETIME: {"answerDateTime"},
    ItemType.TIME: {"answerTime"},
    ItemType.STRING: {"answerString"},
    ItemType.TEXT: {"answerString"},
    ItemType.URL: {"answerString"},
    ItemType.CHOICE: {"answerCoding", "answerString", "answerInteger", "answerDate", "answerTime"},
    ItemType.OPEN_CHOICE: {
        "answerCoding",
        "answerString",
        "answerInteger",
        "answerDate",
        "answerTime",
    },
}


def modifier_extension_paths(node: Any, path: str = "Questionnaire") -> list[str]:
    """Where a modifierExtension appears, anywhere in the resource (contained ones too)."""
    found = []
    if isinstance(node, dict):
        if node.get("modifierExtension"):
            found.append(path)
        for key, value in node.items():
            if key != "modifierExtension":
                found += modifier_extension_paths(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += modifier_extension_paths(value, f"{path}[{index}]")
    return found


def codings_from_fhir(raw: Any, where: str, problems: list[str]) -> list[dict[str, Any]]:
    """A list of Codings kept as written (system, code, display, version...)."""
    if not isinstance(raw, list) or not all(isinstance(c, dict) and c.get("code") for c in raw):
        problems.append(f"{where} must be a list of Codings, each with a code")
        return []
    return [dict(coding) for coding in raw]


# --- display extensions -----------------------------------------------------------------------


def _item_control_code(ext: dict[str, Any]) -> str:
    codings = ext.get("valueCodeableConcept", {}).get("coding", [])
    return str(codings[0].get("code", "")) if codings else ""


def display_extension_is_read(ext: dict[str, Any]) -> bool:
    """True for the extensions item_display_spec turns into fields (an itemControl code the
    engine does not render, such as "slider", stays verbatim instead)."""
    url = ext.get("url")
    if url == EXT_ITEM_CONTROL:
        return _item_control_code(ext) in ItemControl.values and bool(_item_control_code(ext))
    return url in {EXT_ENTRY_FORMAT, EXT_HIDDEN, EXT_UNIT, EXT_UNIT_OPTION}


def item_display_spec(raw: dict[str, Any], where: str, problems: list[str]) -> dict[str, Any]:
    spec: dict[str, Any] = {"is_hidden": False, "entry_format": "", "item_control": "", "units": []}
    for ext in raw.get("extension", []):
        if not display_extension_is_read(ext):
            continue
        url = ext["url"]
        if url == EXT_ITEM_CONTROL:
            spec["item_control"] = _item_control_code(ext)
        elif url == EXT_ENTRY_FORMAT:
            spec["entry_format"] = str(ext.get("valueString", ""))[:100]
        elif url == EXT_HIDDEN:
            spec["is_hidden"] = bool(ext.get("valueBoolean"))
        else:
            coding = ext.get("valueCoding")
            if not isinstance(coding, dict) or not coding.get("code"):
                problems.append(f"{where}unit extensions need a valueCoding with a code")
                continue
            spec["units"].append(dict(coding))
    if spec["units"] and raw.get("type") not in {
        ItemType.QUANTITY,
        ItemType.DECIMAL,
        ItemType.INTEGER,
    }:
        problems.append(f"{where}units apply to quantity, decimal and integer questions only")
    return spec


def item_display_extensions(node: ItemNode) -> list[dict[str, Any]]:
    ext: list[dict[str, Any]] = []
    if node.item_control:
        ext.append(
            {
                "url": EXT_ITEM_CONTROL,
                "valueCodeableConcept": {
                    "coding": [{"system": ITEM_CONTROL_SYSTEM, "code": node.item_control}]
                },
            }
        )
    if node.entry_format:
        ext.append({"url": EXT_ENTRY_FORMAT, "valueString": node.entry_format})
    if node.is_hidden:
        ext.append({"url": EXT_HIDDEN, "valueBoolean": True})
    # SDC: a quantity offers unitOptions; a decimal or integer names its one unit.
    unit_url = EXT_UNIT_OPTION if node.type == ItemType.QUANTITY else EXT_UNIT
    ext += [{"url": unit_url, "valueCoding": dict(unit)} for unit in node.units]
    return ext


# --- answer options ---------------------------------------------------------------------------

OptionSpec = tuple[str, str, str, str, bool, list]  # code, display, kind, system, selected, ext


def _option_from_value(key: str, value: Any) -> tuple[str, str, str] | None:
    """(code, display, system) of one answerOption.value[x]/ValueSet concept, None if unusable."""
    if key == "valueCoding":
        if not isinstance(value, dict) or not value.get("code"):
            return None
        return (
            str(value["code"]),
            str(value.get("display") or value["code"]),
            value.get("system", ""),
        )
    if key == "valueInteger" and (isinstance(value, bool) or not isinstance(value, int)):
        return None
    if value in (None, "") or isinstance(value, (dict, list)):
        return None
    if key in {"valueDate", "valueTime"}:
        try:
            parse_answer(ItemType.DATE if key == "valueDate" else ItemType.TIME, str(value))
        except ValueError:
            return None
    return str(value), str(value), ""


def options_from_fhir(
    raw: dict[str, Any], where: str, problems: list[str], value_sets: dict[str, dict]
) -> list[OptionSpec]:
    if raw.get("answerOption") and raw.get("answerValueSet"):
        problems.append(f"{where}answerOption and answerValueSet cannot both be given")
        return []
    if raw.get("answerValueSet"):
        return _options_from_value_set(raw["answerValueSet"], where, problems, value_sets)
    options: list[OptionSpec] = []
    for index, option in enumerate(raw.get("answerOption", [])):
        keys = [k for k in option if k.startswith("value")]
        unknown = set(option) - set(OPTION_VALUE_KEYS) - {"initialSelected", "extension"}
        unknown.discard("modifierExtension")  # reported for the whole resource
        parsed = (
            _option_from_value(keys[0], option[keys[0]])
            if len(keys) == 1 and keys[0] in OPTION_VALUE_KEYS
            else None
        )
        if parsed is None or unknown - set(keys):
            problems.append(
                f"{where}answerOption[{index}] must be one valueCoding (with a code), "
                "valueString, valueInteger, valueDate or valueTime"
            )
            continue
        code, display, system = parsed
        options.append(
            (
                code,
                display,
                OPTION_VALUE_KEYS[keys[0]],
                system,
                bool(option.get("initialSelected")),
                list(option.get("extension", [])),
            )
        )
    return _checked_codes(options, where, problems)


def _options_from_value_set(
    reference: str, where: str, problems: list[str], value_sets: dict[str, dict]
) -> list[OptionSpec]:
    if not str(reference).startswith("#"):
        problems.append(
            f"{where}answerValueSet {reference!r} is an external ValueSet, which cannot be "
            "expanded here: include it in 'contained' and refer to it as '#id'"
        )
        return []
    value_set = value_sets.get(reference[1:])
    if value_set is None:
        problems.append(f"{where}answerValueSet {reference!r} is not a contained ValueSet")
        return []
    concepts: list[tuple[str, dict]] = []  # (system, concept)

    def walk_expansion(contains: list[dict]) -> None:
        for entry in contains:
            if entry.get("code"):
                concepts.append((entry.get("system", ""), entry))
            walk_expansion(entry.get("contains", []))

    if value_set.get("expansion", {}).get("contains"):
        walk_expansion(value_set["expansion"]["contains"])
    else:
        for include in value_set.get("compose", {}).get("include", []):
            if include.get("filter") or include.get("valueSet") or not include.get("concept"):
                problems.append(
                    f"{where}answerValueSet {reference!r} must list its concepts (a filter, "
                    "a whole code system or another ValueSet cannot be expanded here)"
                )
                return []
            concepts += [(include.get("system", ""), c) for c in include["concept"]]
        if value_set.get("compose", {}).get("exclude"):
            problems.append(f"{where}answerValueSet {reference!r}: 'exclude' is not supported")
            return []
    if not concepts:
        problems.append(f"{where}answerValueSet {reference!r} has no concepts")
        return []
    options: list[OptionSpec] = [
        (
            str(c["code"]),
            str(c.get("display") or c["code"]),
            OptionKind.CODING,
            system,
            False,
            [],
        )
        for system, c in concepts
        if c.get("code")
    ]
    return _checked_codes(options, where, problems)


def _checked_codes(options: list[OptionSpec], where: str, problems: list[str]) -> list[OptionSpec]:
    codes = [o[0] for o in options]
    if len(set(codes)) != len(codes):
        problems.append(f"{where}two answer options have the same value")
        return []
    if any(len(code) > 255 or len(display) > 255 for code, display, *_ in options):
        problems.append(f"{where}an answer option is longer than 255 characters")
        return []
    return options


def option_to_fhir(option: OptionNode) -> dict[str, Any]:
    if option.kind == OptionKind.CODING:
        coding = {"code": option.code, "display": option.display}
        value: Any = {"system": option.system, **coding} if option.system else coding
    elif option.kind == OptionKind.INTEGER:
        value = int(option.code)
    else:
        value = option.code
    out: dict[str, Any] = {OPTION_KIND_KEY[option.kind]: value}
    if option.initial_selected:
        out["initialSelected"] = True
    if option.extensions:
        out["extension"] = [dict(e) for e in option.extensions]
    return out


# --- initial values ---------------------------------------------------------------------------


def _initial_value(item_type: str, entry: dict[str, Any]) -> Any:
    """One initial[x] as a stored answer value; raises ValueError when it does not fit."""
    keys = [k for k in entry if k.startswith("value")]
    if len(keys) != 1:
        raise ValueError("needs exactly one value[x]")
    key, value = keys[0], entry[keys[0]]
    if key == "valueQuantity":
        if item_type != ItemType.QUANTITY or not isinstance(value, dict):
            raise ValueError("valueQuantity fits quantity questions only")
        raw = f"{value.get('value', '')} {value.get('code', '')}".strip()
    elif key == "valueCoding" or isinstance(value, (dict, list)):
        raise ValueError(f"{key} does not fit a '{item_type}' question")
    elif isinstance(value, bool):
        raw = "true" if value else "false"
    else:
        raw = str(value)
    expected = {**SCALAR_VALUE_KEY, ItemType.QUANTITY: "valueQuantity"}.get(item_type)
    if key != expected:
        raise ValueError(f"{key} does not fit a '{item_type}' question")
    return parse_answer(item_type, raw)


def initial_from_fhir(
    raw: dict[str, Any], spec: dict[str, Any], where: str, problems: list[str]
) -> list[Any]:
    """initial[x] for non-choice items; on a choice it selects the matching option (R4 says
    choices use answerOption.initialSelected, which is what the export writes)."""
    entries = raw.get("initial", [])
    if not entries:
        return []
    if len(entries) > 1 and not spec["repeats"]:
        problems.append(f"{where}several initial values need repeats")
        return []
    if spec["type"] in CHOICE_TYPES:
        codes = [o[0] for o in spec["options"]]
        for entry in entries:
            code = next(
                (
                    str(v.get("code") if isinstance(v, dict) else v)
                    for k, v in entry.items()
                    if k.startswith("value")
                ),
                None,
            )
            if code not in codes:
                problems.append(f"{where}initial {code!r} is not one of the options")
                continue
            at = codes.index(code)
            spec["options"][at] = (*spec["options"][at][:4], True, spec["options"][at][5])
        return []
    if spec["type"] in {ItemType.GROUP, ItemType.DISPLAY, ItemType.ATTACHMENT}:
        problems.append(f"{where}initial values on a '{spec['type']}' item are not supported")
        return []
    values = []
    for index, entry in enumerate(entries):
        try:
            values.append(_initial_value(spec["type"], entry))
        except (ValueError, InvalidOperation) as exc:
            problems.append(f"{where}initial[{index}]: {exc}")
    return values


def quantity_to_fhir(node: ItemNode, raw: str) -> dict[str, Any]:
    number, _, code = raw.partition(" ")
    quantity: dict[str, Any] = {"value": float(Decimal(number))}
    unit = next((u for u in node.units if u.get("code") == code), None)
    if code:
        quantity["unit"] = str((unit or {}).get("display") or code)
        quantity["system"] = str((unit or {}).get("system") or UCUM)
        quantity["code"] = code
    return quantity


# --- enableWhen -------------------------------------------------------------------------------


def enable_when_import_problem(
    *,
    operator: str,
    answer: str,
    answer_key: str,
    target_type: str | None,
    option_codes: list[str],
) -> str | None:
    """The publish check, plus the answer[x] kind, which only the FHIR text still has."""
    if problem := enable_when_rule_problem(
        operator=operator, answer=answer, target_type=target_type, option_codes=option_codes
    ):
        return problem
    if operator == "exists":
        return None if answer_key == "answerBoolean" else "'exists' needs answerBoolean"
    allowed = RULE_ANSWER_KEYS.get(target_type or "", set())
    if answer_key not in allowed:
        return f"uses {answer_key} against a '{target_type}' question"
    return None


# --- extensions on primitive elements (`_text` and the like) -----------------------------------

ITEM_ELEMENT_KEYS = {"_text", "_prefix"}
ROOT_ELEMENT_KEYS = {"_title", "_description"}


def element_extensions_from_fhir(
    raw: dict[str, Any], allowed: set[str], where: str, problems: list[str]
) -> dict[str, Any]:
    """`_text: {"extension": [...]}` and the like, kept verbatim (rendering-xhtml, -style...).
    Only on the wording we store; any other `_x` is reported with the unsupported keys."""
    kept = {}
    for key in sorted(k for k in raw if k in allowed):
        value = raw[key]
        if not isinstance(value, dict) or set(value) - {"id", "extension", "modifierExtension"}:
            problems.append(f"{where}'{key}' must hold only extensions")
            continue
        kept[key] = value
    return kept
