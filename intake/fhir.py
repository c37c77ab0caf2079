"""FHIR R4 Questionnaire / QuestionnaireResponse for what a clinical intake uses.

Standard elements and extensions where FHIR has them (minValue, maxValue, mimeType, maxSize,
help text as a child display item with itemControl "help"; codes, every answerOption kind,
contained ValueSets, initial/readOnly and the SDC display extensions in intake.fhir_kinds);
our own extensions under THINCLINIC_EXT for what FHIR does not model (important for the
clinician, disqualifying answers, minimum age). Other ordinary extensions are kept verbatim and
exported again. Import refuses what it cannot represent faithfully (a modifierExtension, an
unknown element, a rule it could not evaluate) and says what, rather than dropping it; a few
metadata elements that carry no questions are reported and skipped. See docs/fhir.md.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction

from core.exceptions import DomainError
from intake.fhir_kinds import (
    ITEM_ELEMENT_KEYS,
    ROOT_ELEMENT_KEYS,
    SCALAR_VALUE_KEY,
    codings_from_fhir,
    display_extension_is_read,
    element_extensions_from_fhir,
    enable_when_import_problem,
    initial_from_fhir,
    item_display_extensions,
    item_display_spec,
    modifier_extension_paths,
    option_to_fhir,
    options_from_fhir,
    quantity_to_fhir,
)
from intake.fhir_urls import (
    EXT_DISQUALIFYING,
    EXT_DISQUALIFYING_TEXT,
    EXT_IMPORTANT,
    EXT_ITEM_CONTROL,
    EXT_MAX,
    EXT_MAX_SIZE,
    EXT_MIME,
    EXT_MIN,
    EXT_MINIMUM_AGE,
    ITEM_CONTROL_SYSTEM,
)
from intake.models import (
    CHOICE_TYPES,
    AnswerOption,
    EnableWhen,
    Item,
    ItemType,
    Questionnaire,
    QuestionnaireResponse,
    QuestionnaireVersion,
    VersionStatus,
)
from intake.scoring_fhir import (
    SCORING_OPTION_URLS,
    expression_scope_problems,
    option_extensions_to_fhir,
    parse_option_extensions,
    parse_root_extension,
    parse_scoring_extension,
    root_variables_to_fhir,
    scoring_extensions_to_fhir,
    scoring_spec_defaults,
)
from intake.structure import ItemNode, OptionNode, version_structure_load

STATUS_TO_FHIR = {
    VersionStatus.DRAFT: "draft",
    VersionStatus.PUBLISHED: "active",
    VersionStatus.RETIRED: "retired",
}
# Metadata without questions in it: skipped on import, but reported.
IGNORED_ROOT_KEYS = {
    "id",
    "meta",
    "text",
    "name",
    "publisher",
    "date",
    "subjectType",
    "contact",
    "jurisdiction",
}
SUPPORTED_ROOT_KEYS = {
    "resourceType",
    "url",
    "version",
    "title",
    "status",
    "description",
    "item",
    "extension",
    "code",
    "contained",
    "_title",
    "_description",
}
SUPPORTED_ITEM_KEYS = {
    "linkId", "type", "text", "prefix", "required", "repeats", "maxLength", "enableWhen",
    "enableBehavior", "answerOption", "item", "extension", "code", "answerValueSet", "initial",
    "readOnly", "_text", "_prefix",
}  # fmt: skip


class FhirImportError(DomainError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Unsupported FHIR content:\n" + "\n".join(f"- {p}" for p in problems))


# --- export -----------------------------------------------------------------------------------


def _typed_value(item_type: str, raw: str, prefix: str = "value") -> dict[str, Any]:
    if item_type == ItemType.INTEGER:
        return {f"{prefix}Integer": int(raw)}
    if item_type == ItemType.DECIMAL:
        return {f"{prefix}Decimal": float(Decimal(raw))}
    if item_type == ItemType.DATE:
        return {f"{prefix}Date": raw}
    if item_type == ItemType.BOOLEAN:
        return {f"{prefix}Boolean": raw.strip().lower() in {"true", "yes", "1"}}
    if item_type in CHOICE_TYPES:
        return {f"{prefix}Coding": {"code": raw}}
    if item_type == ItemType.TIME:
        return {f"{prefix}Time": raw}
    if item_type == ItemType.DATETIME:
        return {f"{prefix}DateTime": raw}
    if item_type == ItemType.URL and prefix == "value":  # enableWhen has no answerUri
        return {f"{prefix}Uri": raw}
    return {f"{prefix}String": raw}


def _rule_answer_to_fhir(target: ItemNode | None, operator: str, raw: str) -> dict[str, Any]:
    """A choice rule answers with the option's own kind (Coding with its system, or a
    string/integer/date/time), so the rule still matches the option on re-import."""
    if operator == "exists" or target is None or target.type not in CHOICE_TYPES:
        answer_type = (
            ItemType.BOOLEAN
            if operator == "exists"
            else (target.type if target else ItemType.STRING)
        )
        return _typed_value(answer_type, raw, "answer")
    option = target.option(raw)
    if option is None:
        return {"answerCoding": {"code": raw}}
    return {
        key.replace("value", "answer", 1): value
        for key, value in option_to_fhir(option).items()
        if key.startswith("value")
    }


def _item_to_fhir(
    node: ItemNode, children: list[dict], by_link_id: dict[str, ItemNode]
) -> dict[str, Any]:
    out: dict[str, Any] = {"linkId": node.link_id, "type": node.type, "text": node.text}
    if node.codes:
        out["code"] = [dict(coding) for coding in node.codes]
    if node.prefix:
        out["prefix"] = node.prefix
    out.update(node.element_extensions)
    if node.required:
        out["required"] = True
    if node.repeats:
        out["repeats"] = True
    if node.max_length:
        out["maxLength"] = node.max_length
    ext: list[dict[str, Any]] = []
    if node.min_value:
        ext.append({"url": EXT_MIN, **_typed_value(node.type, node.min_value)})
    if node.max_value:
        ext.append({"url": EXT_MAX, **_typed_value(node.type, node.max_value)})
    ext += [{"url": EXT_MIME, "valueCode": mime} for mime in node.mime_types]
    if node.max_file_size:
        ext.append({"url": EXT_MAX_SIZE, "valueDecimal": node.max_file_size})
    if node.is_important_for_clinician:
        ext.append({"url": EXT_IMPORTANT, "valueBoolean": True})
    if node.disqualifying_answer:
        ext.append({"url": EXT_DISQUALIFYING, "valueString": node.disqualifying_answer})
        ext.append({"url": EXT_DISQUALIFYING_TEXT, "valueString": node.disqualifying_explanation})
    ext += scoring_extensions_to_fhir(node)  # hidden is written by item_display_extensions
    ext += item_display_extensions(node)
    ext += [dict(raw) for raw in node.extensions]  # kept verbatim from the import
    if ext:
        out["extension"] = ext
    if node.enable_when:
        rules = []
        for rule in node.enable_when:
            target = by_link_id.get(rule.question)
            rules.append(
                {
                    "question": rule.question,
                    "operator": rule.operator,
                    **_rule_answer_to_fhir(target, rule.operator, rule.answer),
                }
            )
        out["enableWhen"] = rules
        if len(rules) > 1:
            out["enableBehavior"] = node.enable_behavior
    if node.options:
        out["answerOption"] = [_option_to_fhir(o) for o in node.options]
    if node.read_only:
        out["readOnly"] = True
    if node.initial and node.type not in CHOICE_TYPES:  # choices use initialSelected
        out["initial"] = [_initial_to_fhir(node, value) for value in node.initial]
    help_items = []
    if node.help_text:
        help_items.append(
            {
                "linkId": f"{node.link_id}.help",
                "type": "display",
                "text": node.help_text,
                "extension": [
                    {
                        "url": EXT_ITEM_CONTROL,
                        "valueCodeableConcept": {
                            "coding": [{"system": ITEM_CONTROL_SYSTEM, "code": "help"}]
                        },
                    }
                ],
            }
        )
    if help_items or children:
        out["item"] = help_items + children
    return out


def _initial_to_fhir(node: ItemNode, value: Any) -> dict[str, Any]:
    raw = ("true" if value else "false") if isinstance(value, bool) else str(value)
    if node.type == ItemType.QUANTITY:
        return {"valueQuantity": quantity_to_fhir(node, raw)}
    return _typed_value(node.type, raw)


def questionnaire_version_to_fhir(*, version: QuestionnaireVersion) -> dict[str, Any]:
    structure = version_structure_load(version=version)
    questionnaire = version.questionnaire

    def build(parent: str | None) -> list[dict]:
        return [
            _item_to_fhir(node, build(node.link_id), structure.by_link_id)
            for node in structure.ordered
            if node.parent_link_id == parent
        ]

    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "url": questionnaire.url,
        "version": str(version.version),
        "title": version.title,
        "status": STATUS_TO_FHIR[version.status],
        "item": build(None),
    }
    if version.description:
        resource["description"] = version.description
    if version.codes:
        resource["code"] = [dict(coding) for coding in version.codes]
    resource.update(version.element_extensions)
    root_ext = [dict(raw) for raw in version.extensions]
    if questionnaire.minimum_age:
        root_ext.insert(0, {"url": EXT_MINIMUM_AGE, "valueInteger": questionnaire.minimum_age})
    root_ext += root_variables_to_fhir(structure.variables)
    if root_ext:
        resource["extension"] = root_ext
    return resource


# --- import -----------------------------------------------------------------------------------


@dataclass
class ImportReport:
    version: QuestionnaireVersion
    skipped: list[str] = field(default_factory=list)


def _scalar(entry: dict[str, Any], prefix: str) -> str | None:
    for key, value in entry.items():
        if not key.startswith(prefix):
            continue
        if isinstance(value, dict):  # a Coding
            return str(value.get("code", ""))
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    return None


def _is_help_item(raw: dict[str, Any]) -> bool:
    for ext in raw.get("extension", []):
        if ext.get("url") == EXT_ITEM_CONTROL:
            codes = [c.get("code") for c in ext.get("valueCodeableConcept", {}).get("coding", [])]
            return "help" in codes
    return False


def _parse_items(
    raw_items: list[dict],
    path: str,
    problems: list[str],
    value_sets: dict[str, dict] | None = None,
) -> list[dict]:
    value_sets = value_sets or {}
    parsed = []
    for index, raw in enumerate(raw_items):
        where = f"{path}item[{index}]" + (f" ({raw.get('linkId')})" if raw.get("linkId") else "")
        # modifierExtension is reported once, for the whole resource, by the import.
        for key in sorted(set(raw) - SUPPORTED_ITEM_KEYS - {"modifierExtension"}):
            problems.append(f"{where}: '{key}' is not supported")
        if raw.get("type") not in ItemType.values:
            problems.append(f"{where}: item type '{raw.get('type')}' is not supported")
            continue
        if not raw.get("linkId"):
            problems.append(f"{where}: linkId is required")
            continue
        spec: dict[str, Any] = {
            "link_id": raw["linkId"], "type": raw["type"], "text": raw.get("text", ""),
            "prefix": raw.get("prefix", ""), "required": bool(raw.get("required")),
            "repeats": bool(raw.get("repeats")), "max_length": raw.get("maxLength"),
            "enable_behavior": raw.get("enableBehavior", "all"), "help_text": "", "mime": [],
            "min_value": "", "max_value": "", "max_file_size": None, "important": False,
            "disqualifying_answer": "", "disqualifying_explanation": "", "options": [], "rules": [],
            "codes": codings_from_fhir(raw.get("code", []), f"{where}: code", problems),
            "read_only": bool(raw.get("readOnly")), "extensions": [], "initial": [],
        }  # fmt: skip
        spec.update(scoring_spec_defaults())
        spec.update(item_display_spec(raw, f"{where}: ", problems))
        spec["element_extensions"] = element_extensions_from_fhir(
            raw, ITEM_ELEMENT_KEYS, f"{where}: ", problems
        )
        for ext in raw.get("extension", []):
            url = ext.get("url")
            if parse_scoring_extension(ext, spec, where, problems):
                continue
            if url == EXT_MIN:
                spec["min_value"] = _scalar(ext, "value") or ""
            elif url == EXT_MAX:
                spec["max_value"] = _scalar(ext, "value") or ""
            elif url == EXT_MIME:
                spec["mime"].append(ext.get("valueCode", ""))
            elif url == EXT_MAX_SIZE:
                spec["max_file_size"] = int(Decimal(str(ext.get("valueDecimal", 0))))
            elif url == EXT_IMPORTANT:
                spec["important"] = bool(ext.get("valueBoolean"))
            elif url == EXT_DISQUALIFYING:
                spec["disqualifying_answer"] = ext.get("valueString", "")
            elif url == EXT_DISQUALIFYING_TEXT:
                spec["disqualifying_explanation"] = ext.get("valueString", "")
            elif display_extension_is_read(ext):
                continue  # read by item_display_spec
            else:
                # An ordinary extension may be ignored (FHIR says so); it is kept verbatim and
                # exported again, so nothing the author wrote is lost.
                spec["extensions"].append(ext)
        spec["options"] = _with_scores(
            options_from_fhir(raw, f"{where}: ", problems, value_sets), raw, where, problems
        )
        spec["initial"] = initial_from_fhir(raw, spec, f"{where}: ", problems)
        for rule_index, rule in enumerate(raw.get("enableWhen", [])):
            answer = _scalar(rule, "answer")
            if answer is None or not rule.get("question") or not rule.get("operator"):
                problems.append(
                    f"{where}: enableWhen[{rule_index}] needs question, operator and answer[x]"
                )
                continue
            answer_key = next((k for k in rule if k.startswith("answer")), "")
            spec["rules"].append((rule["question"], rule["operator"], answer, answer_key))
        children = []
        for child in raw.get("item", []):
            if child.get("type") == "display" and _is_help_item(child):
                spec["help_text"] = child.get("text", "")
            else:
                children.append(child)
        spec["children"] = _parse_items(children, f"{where}.", problems, value_sets)
        parsed.append(spec)
    return parsed


def _option_to_fhir(option: OptionNode) -> dict[str, Any]:
    """The option as written (intake.fhir_kinds), plus its score and exclusivity."""
    out = option_to_fhir(option)
    scoring = option_extensions_to_fhir(option).get("extension", [])
    if scoring:
        out["extension"] = [*out.get("extension", []), *scoring]
    return out


def _with_scores(
    options: list[tuple], raw: dict[str, Any], where: str, problems: list[str]
) -> list[tuple]:
    """Each parsed option with its scoring fields (optionExclusive, ordinalValue, itemWeight)
    read from the raw answerOption; those extensions leave the kept-verbatim list, since the
    export writes them from the fields."""
    raw_by_code: dict[str, dict[str, Any]] = {}
    for option in raw.get("answerOption", []):
        key = next((k for k in option if k.startswith("value")), "")
        value = option.get(key)
        raw_by_code[str(value.get("code") if isinstance(value, dict) else value)] = option
    scored = []
    for code, display, kind, system, selected, extensions in options:
        scores = parse_option_extensions(
            raw_by_code.get(code, {}), f"{where}: answerOption '{code}'", problems
        )
        kept = [e for e in extensions if e.get("url") not in SCORING_OPTION_URLS]
        scored.append((code, display, kind, system, selected, kept, scores))
    return scored


def _enable_when_problems(items: list[dict]) -> list[str]:
    """Every rule names an existing question, a known operator and an answer of its type."""
    by_link_id: dict[str, dict] = {}

    def index(specs: list[dict]) -> None:
        for spec in specs:
            by_link_id[spec["link_id"]] = spec
            index(spec["children"])

    index(items)
    problems = []
    for spec in by_link_id.values():
        for rule_index, (question, operator, answer, answer_key) in enumerate(spec["rules"]):
            target = by_link_id.get(question)
            problem = enable_when_import_problem(
                operator=operator,
                answer=answer,
                answer_key=answer_key,
                target_type=target["type"] if target else None,
                option_codes=[code for code, *_ in target["options"]] if target else [],
            )
            if not problem and len(answer) > EnableWhen._meta.get_field("answer").max_length:
                problem = "compares with an answer longer than 64 characters"
            if problem:
                problems.append(f"{spec['link_id']}: enableWhen[{rule_index}] {problem}")
    return problems


def _contained_value_sets(contained: list[dict], problems: list[str]) -> dict[str, dict]:
    """Contained ValueSets by id, for answerValueSet "#id"; nothing else may be contained."""
    value_sets = {}
    for index, resource in enumerate(contained):
        if resource.get("resourceType") != "ValueSet" or not resource.get("id"):
            problems.append(
                f"contained[{index}]: only ValueSets with an id can be contained "
                f"(found {resource.get('resourceType')!r})"
            )
            continue
        value_sets[resource["id"]] = resource
    return value_sets


@transaction.atomic
def questionnaire_import_fhir(*, data: dict[str, Any]) -> ImportReport:
    """Create a new draft version from a FHIR Questionnaire. All or nothing."""
    problems: list[str] = []
    if data.get("resourceType") != "Questionnaire":
        raise FhirImportError(["resourceType must be 'Questionnaire'"])
    if not data.get("url"):
        problems.append("url (the canonical identity) is required")
    skipped = [
        f"'{key}' (metadata) was not imported" for key in sorted(set(data) & IGNORED_ROOT_KEYS)
    ]
    problems += [
        f"'{key}' is not supported"
        for key in sorted(set(data) - SUPPORTED_ROOT_KEYS - IGNORED_ROOT_KEYS)
    ]
    problems += [
        f"{where}: modifierExtension changes the meaning of the content, so it cannot be imported"
        for where in modifier_extension_paths(data)
    ]
    minimum_age = None
    root_variables: list[dict[str, str]] = []
    root_extensions = []
    for ext in data.get("extension", []):
        if parse_root_extension(ext, root_variables, problems):
            continue
        if ext.get("url") == EXT_MINIMUM_AGE:
            minimum_age = ext.get("valueInteger")
        else:
            root_extensions.append(ext)  # kept verbatim, exported again
    value_sets = _contained_value_sets(data.get("contained", []), problems)
    codes = codings_from_fhir(data.get("code", []), "code", problems)
    element_extensions = element_extensions_from_fhir(data, ROOT_ELEMENT_KEYS, "", problems)
    items = _parse_items(data.get("item", []), "", problems, value_sets)
    problems += _enable_when_problems(items)
    problems += expression_scope_problems(root_variables, items)
    if problems:
        raise FhirImportError(problems)

    url = data["url"]
    questionnaire = Questionnaire.objects.select_for_update().filter(url=url).first()
    title = data.get("title") or url.rstrip("/").rsplit("/", 1)[-1]
    if questionnaire is None:
        from django.utils.text import slugify

        questionnaire = Questionnaire.objects.create(
            url=url,
            slug=slugify(url.rstrip("/").rsplit("/", 1)[-1])[:80],
            title=title,
            minimum_age=minimum_age,
        )
    elif minimum_age is not None and questionnaire.minimum_age != minimum_age:
        questionnaire.minimum_age = minimum_age
        questionnaire.save(update_fields=["minimum_age", "updated_at"])
    last = (
        questionnaire.versions.order_by("-version").values_list("version", flat=True).first() or 0
    )
    version = QuestionnaireVersion.objects.create(
        questionnaire=questionnaire,
        version=last + 1,
        title=title,
        description=data.get("description", ""),
        variables=root_variables,
        codes=codes,
        extensions=root_extensions,
        element_extensions=element_extensions,
    )
    counter = iter(range(1, 100_000))

    def create(specs: list[dict], parent: Item | None) -> None:
        for spec in specs:
            item = Item.objects.create(
                version=version,
                parent=parent,
                order=next(counter),
                link_id=spec["link_id"],
                type=spec["type"],
                text=spec["text"],
                prefix=spec["prefix"],
                help_text=spec["help_text"],
                required=spec["required"],
                repeats=spec["repeats"],
                max_length=spec["max_length"],
                min_value=spec["min_value"],
                max_value=spec["max_value"],
                allowed_mime_types=",".join(spec["mime"]),
                max_file_size=spec["max_file_size"],
                enable_behavior=spec["enable_behavior"],
                is_important_for_clinician=spec["important"],
                disqualifying_answer=spec["disqualifying_answer"],
                disqualifying_explanation=spec["disqualifying_explanation"],
                calculated_expression=spec["calculated_expression"],
                enable_when_expression=spec["enable_when_expression"],
                variables=spec["variables"],
                score_bands=spec["score_bands"],
                codes=spec["codes"],
                initial=spec["initial"],
                read_only=spec["read_only"],
                is_hidden=spec["is_hidden"],
                entry_format=spec["entry_format"],
                item_control=spec["item_control"],
                units=spec["units"],
                extensions=spec["extensions"],
                element_extensions=spec["element_extensions"],
            )
            AnswerOption.objects.bulk_create(
                [
                    AnswerOption(
                        item=item,
                        order=i,
                        code=code,
                        display=display,
                        kind=kind,
                        system=system,
                        initial_selected=selected,
                        extensions=extensions,
                        **scores,
                    )
                    for i, (code, display, kind, system, selected, extensions, scores) in (
                        enumerate(spec["options"])
                    )
                ]
            )
            EnableWhen.objects.bulk_create(
                [
                    EnableWhen(item=item, question=q, operator=op, answer=a)
                    for q, op, a, _ in spec["rules"]
                ]
            )
            create(spec["children"], item)

    create(items, None)
    return ImportReport(version=version, skipped=skipped)


# --- QuestionnaireResponse --------------------------------------------------------------------

RESPONSE_STATUS_TO_FHIR = {
    "in-progress": "in-progress",
    "completed": "completed",
    "stopped": "stopped",
}


def _answer_to_fhir(
    entry: dict[str, Any], attachments: dict[str, Any], node: ItemNode | None = None
) -> list[dict[str, Any]]:
    out = []
    for value, display in zip(entry["value"], entry.get("display", []), strict=False):
        item_type = entry["type"]
        if item_type in SCALAR_VALUE_KEY:
            key = SCALAR_VALUE_KEY[item_type]
            if item_type == ItemType.DECIMAL:
                value = float(Decimal(str(value)))
            out.append({key: value})
        elif item_type in CHOICE_TYPES:
            text = str(value)
            option = node.option(text) if node is not None else None
            if text.startswith("other:"):
                out.append({"valueString": text.removeprefix("other:")})
            elif option is not None and option.kind != "coding":
                # a valueString/Integer/Date/Time option answers with that same kind
                out.append({k: v for k, v in option_to_fhir(option).items() if k != "extension"})
                out[-1].pop("initialSelected", None)
            else:
                coding = {"code": text, "display": display}
                if option is not None and option.system:
                    coding = {"system": option.system, **coding}
                out.append({"valueCoding": coding})
        elif item_type == ItemType.QUANTITY and node is not None:
            out.append({"valueQuantity": quantity_to_fhir(node, str(value))})
        elif item_type == ItemType.ATTACHMENT:
            attachment = attachments.get(str(value))
            out.append(
                {
                    "valueAttachment": {
                        "contentType": attachment.mime_type if attachment else None,
                        "title": display,
                    }
                }
            )
        else:
            out.append({"valueString": str(value)})
    return out


def questionnaire_response_to_fhir(*, response: QuestionnaireResponse) -> dict[str, Any]:
    """Answers nested under their steps, each with the wording the patient saw."""
    structure = version_structure_load(version=response.version)
    attachments = {str(a.public_id): a for a in response.attachments.all()}
    groups: dict[str, list[dict]] = {}
    for link_id in response.answer_order:
        entry = response.answers[link_id]
        step = structure.step_of(link_id) or "unfiled"
        groups.setdefault(step, []).append(
            {
                "linkId": link_id,
                "text": entry["text"],
                "answer": _answer_to_fhir(entry, attachments, structure.by_link_id.get(link_id)),
            }
        )
    items = []
    for step in structure.steps:
        if step.link_id in groups:
            items.append(
                {"linkId": step.link_id, "text": step.text, "item": groups.pop(step.link_id)}
            )
    for orphans in groups.values():
        items.extend(orphans)
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": str(response.public_id),
        "questionnaire": response.version.canonical,
        "status": RESPONSE_STATUS_TO_FHIR[response.status],
        "item": items,
    }
    if response.completed_at:
        resource["authored"] = response.completed_at.isoformat()
    return resource
