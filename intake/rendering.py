"""Turning item definitions into what a template renders: one field per item, with the HTML5
constraints and the data-enable-when rules taken from the same definitions the validator uses.
"""

import datetime
import json
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.html import format_html_join

from intake.models import CHOICE_TYPES, ItemControl, ItemType
from intake.structure import ItemNode, VersionStructure
from intake.validation import OTHER_PREFIX, UNIT_SUFFIX, is_enabled, parse_answer

INPUT_TYPES = {
    ItemType.STRING: "text",
    ItemType.INTEGER: "number",
    ItemType.DECIMAL: "number",
    ItemType.DATE: "date",
    ItemType.TIME: "time",
    ItemType.DATETIME: "datetime-local",
    ItemType.URL: "url",
    ItemType.QUANTITY: "number",
}


@dataclass
class FieldView:
    node: ItemNode
    values: list[str]
    errors: list[str]
    enabled: bool
    attrs: dict[str, str] = field(default_factory=dict)
    other_text: str = ""

    @property
    def id(self) -> str:
        return f"q-{self.node.link_id}"

    @property
    def name(self) -> str:
        return self.node.link_id

    @property
    def input_type(self) -> str:
        return INPUT_TYPES.get(self.node.type, "text")

    @property
    def value(self) -> str:
        value = self.values[0] if self.values else ""
        if self.node.type == ItemType.QUANTITY:
            return value.partition(" ")[0]
        if self.node.type == ItemType.DATETIME and value:
            return _datetime_local(value)
        return value

    @property
    def unit_name(self) -> str:
        return f"{self.node.link_id}{UNIT_SUFFIX}"

    @property
    def unit_value(self) -> str:
        """The unit chosen: the one stored or posted with the number, else the first offered."""
        if self.values and " " in self.values[0]:
            return self.values[0].partition(" ")[2]
        return str(self.node.units[0].get("code", "")) if self.node.units else ""

    @property
    def unit_choices(self) -> list[tuple[str, str]]:
        return [
            (str(u.get("code")), str(u.get("display") or u.get("code"))) for u in self.node.units
        ]

    @property
    def unit_label(self) -> str:
        """A decimal or integer question's single unit (questionnaire-unit), shown beside it."""
        if self.node.type == ItemType.QUANTITY or not self.node.units:
            return ""
        unit = self.node.units[0]
        return str(unit.get("display") or unit.get("code"))

    @property
    def is_choice(self) -> bool:
        return self.node.type in CHOICE_TYPES or self.node.type == ItemType.BOOLEAN

    @property
    def exclusive_codes(self) -> set[str]:
        """Options that clear the others when ticked (optionExclusive); see static/js/intake.js."""
        return {o.code for o in self.node.options if o.is_exclusive}

    @property
    def choices(self) -> list[tuple[str, str]]:
        if self.node.type == ItemType.BOOLEAN:
            return [("true", "Yes"), ("false", "No")]
        return [(o.code, o.display) for o in self.node.options]

    @property
    def widget(self) -> str:
        if self.node.is_hidden:
            return "hidden"  # questionnaire-hidden: not shown; the server stores its initial value
        if self.node.type == ItemType.GROUP:
            return "group"
        if self.node.type == ItemType.DISPLAY:
            return "display"
        if self.node.type == ItemType.TEXT:
            return "textarea"
        if self.node.type == ItemType.ATTACHMENT:
            return "file"
        if self.node.type == ItemType.QUANTITY:
            return "quantity"
        if self.is_choice:
            if self.node.item_control == ItemControl.DROP_DOWN:
                return "select"
            if self.node.item_control == ItemControl.AUTOCOMPLETE and not self.node.repeats:
                return "autocomplete"
            return "checkbox" if self.node.repeats else "radio"
        return "input"

    @property
    def autocomplete_value(self) -> str:
        """The option's label for the text box (the server maps a label back to its code)."""
        return self.node.option_display(self.value) if self.value else ""

    @property
    def attrs_html(self) -> str:
        return format_html_join(" ", '{}="{}"', self.attrs.items())

    @property
    def enable_when_json(self) -> str:
        if not self.node.enable_when:
            return ""
        rules = [{"q": r.question, "op": r.operator, "a": r.answer} for r in self.node.enable_when]
        return json.dumps({"behavior": self.node.enable_behavior, "rules": rules})


def _html_constraints(node: ItemNode) -> dict[str, str]:
    attrs: dict[str, str] = {}
    # `required` on a conditional field would block submitting when it is hidden, so the JS
    # toggles it with visibility (data-required) and the server enforces it either way.
    if node.required:
        attrs["data-required"] = "true"
    if node.type in {ItemType.INTEGER, ItemType.DECIMAL, ItemType.DATE}:
        if node.min_value:
            attrs["min"] = node.min_value
        if node.max_value:
            attrs["max"] = node.max_value
    if node.type == ItemType.INTEGER:
        attrs["step"] = "1"
        attrs["inputmode"] = "numeric"
        attrs["pattern"] = "-?[0-9]*"
    if node.type == ItemType.DECIMAL:
        attrs["step"] = "any"
        attrs["inputmode"] = "decimal"
    if node.max_length and node.type in {
        ItemType.STRING,
        ItemType.TEXT,
        ItemType.OPEN_CHOICE,
        ItemType.URL,
    }:
        attrs["maxlength"] = str(node.max_length)
    attrs.update(_display_constraints(node))
    if node.type == ItemType.ATTACHMENT:
        attrs["accept"] = (
            ",".join(node.mime_types) or "image/jpeg,image/png,image/heic,application/pdf"
        )
    return attrs


def _display_constraints(node: ItemNode) -> dict[str, str]:
    attrs: dict[str, str] = {}
    if node.type == ItemType.QUANTITY:
        attrs["step"] = "any"
        attrs["inputmode"] = "decimal"
    if node.type == ItemType.TIME:
        attrs["step"] = "1"  # seconds are allowed: FHIR time is HH:MM:SS
    if node.entry_format:
        attrs["placeholder"] = node.entry_format
    if node.read_only:
        # Shown but not editable; disabled inputs are not sent, and the server ignores any
        # value posted for it anyway. intake.js keeps it disabled (data-read-only).
        attrs["disabled"] = "disabled"
        attrs["data-read-only"] = "true"
    return attrs


def _datetime_local(value: str) -> str:
    """A stored dateTime (with its offset) as the clinic-local YYYY-MM-DDTHH:MM the
    datetime-local input shows."""
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return value  # what the patient typed, re-shown with its error
    if timezone.is_aware(parsed):
        parsed = timezone.localtime(parsed)
    return parsed.strftime("%Y-%m-%dT%H:%M")


def step_fields(
    *,
    structure: VersionStructure,
    step_link_id: str,
    values: dict[str, list[Any]],
    errors: dict[str, list[str]] | None = None,
    prefill_initial: bool = False,
) -> list[FieldView]:
    """Fields for one step. `values` are raw (from POST, to keep what the patient typed) or
    stored answers; `enabled` is the server's own evaluation, so pages are right without JS."""
    errors = errors or {}
    typed = {k: [_raw(v) for v in vs] for k, vs in values.items()}
    views = []
    for node in structure.items_of_step(step_link_id):
        if node.is_answered_by_system:
            continue  # hidden context facts and totals: the patient is never asked
        raw_values = typed.get(node.link_id, [])
        posted_unit = typed.get(f"{node.link_id}{UNIT_SUFFIX}", [""])[0]
        if node.type == ItemType.QUANTITY and raw_values and posted_unit:
            raw_values = [f"{raw_values[0].partition(' ')[0]} {posted_unit}"]
        if not node.takes_patient_input or (prefill_initial and node.link_id not in typed):
            raw_values = [_raw(v) for v in node.initial_answer] or raw_values
        other = next(
            (v.removeprefix(OTHER_PREFIX) for v in raw_values if v.startswith(OTHER_PREFIX)), ""
        )
        attrs = _html_constraints(node)
        views.append(
            FieldView(
                node=node,
                values=raw_values,
                errors=errors.get(node.link_id, []),
                enabled=is_enabled(node, structure, _typed_for_rules(structure, values)),
                attrs=attrs,
                other_text=other,
            )
        )
    return views


def _raw(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _typed_for_rules(
    structure: VersionStructure, values: dict[str, list[Any]]
) -> dict[str, list[Any]]:
    """Rules compare typed answers; raw POST strings are parsed the validator's way."""
    typed: dict[str, list[Any]] = {}
    for link_id, vals in values.items():
        node = structure.by_link_id.get(link_id)
        if node is None:
            continue
        out = []
        for v in vals:
            if v in ("", None):
                continue
            try:
                out.append(
                    parse_answer(node.type, v)
                    if isinstance(v, str) and node.type not in CHOICE_TYPES
                    else v
                )
            except ValueError:
                continue
        typed[link_id] = out
    return typed
