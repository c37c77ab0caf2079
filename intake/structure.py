"""A version's items as plain frozen objects, loaded in a fixed number of queries.

Validation, rendering and the services read this, never the ORM, so a step page costs the
same few queries however many questions and answers there are.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from intake.models import ANSWERABLE_TYPES, Item, ItemType, QuestionnaireVersion


@dataclass(frozen=True)
class OptionNode:
    code: str
    display: str
    is_exclusive: bool = False
    ordinal_value: Decimal | None = None
    item_weight: Decimal | None = None
    kind: str = "coding"
    system: str = ""
    initial_selected: bool = False
    extensions: tuple = field(default=(), hash=False)


@dataclass(frozen=True)
class VariableNode:
    name: str
    expression: str


@dataclass(frozen=True)
class ScoreBand:
    low: Decimal
    high: Decimal
    label: str

    def contains(self, value: Decimal) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class RuleNode:
    question: str
    operator: str
    answer: str


@dataclass(frozen=True)
class ItemNode:
    link_id: str
    type: str
    text: str
    prefix: str = ""
    help_text: str = ""
    required: bool = False
    repeats: bool = False
    min_value: str = ""
    max_value: str = ""
    max_length: int | None = None
    mime_types: tuple[str, ...] = ()
    max_file_size: int | None = None
    enable_behavior: str = "all"
    enable_when: tuple[RuleNode, ...] = ()
    options: tuple[OptionNode, ...] = ()
    parent_link_id: str | None = None
    is_important_for_clinician: bool = False
    disqualifying_answer: str = ""
    disqualifying_explanation: str = ""
    depth: int = 0
    is_hidden: bool = False
    calculated_expression: str = ""
    enable_when_expression: str = ""
    variables: tuple[VariableNode, ...] = ()
    score_bands: tuple[ScoreBand, ...] = ()
    codes: tuple = field(default=(), hash=False)  # of coding dicts
    initial: tuple = field(default=(), hash=False)
    read_only: bool = False
    entry_format: str = ""
    item_control: str = ""
    units: tuple = field(default=(), hash=False)  # of coding dicts; quantity questions
    extensions: tuple = field(default=(), hash=False)
    element_extensions: dict = field(default_factory=dict, hash=False)

    @property
    def initial_answer(self) -> list:
        """initial[x], or the options marked initialSelected."""
        if self.initial:
            return list(self.initial)
        return [o.code for o in self.options if o.initial_selected]

    @property
    def takes_patient_input(self) -> bool:
        """Read-only and hidden items answer with their initial value, never the patient's."""
        return not (self.read_only or self.is_hidden)

    def option(self, code: str) -> "OptionNode | None":
        return next((o for o in self.options if o.code == code), None)

    @property
    def is_answerable(self) -> bool:
        return self.type in ANSWERABLE_TYPES

    def option_display(self, code: str) -> str:
        for option in self.options:
            if option.code == code:
                return option.display
        return code

    @property
    def is_answered_by_system(self) -> bool:
        """Hidden context items and calculated totals: the patient never answers these."""
        return self.is_hidden or bool(self.calculated_expression)

    def band_of(self, value: Decimal) -> str:
        return next((band.label for band in self.score_bands if band.contains(value)), "")


@dataclass(frozen=True)
class VersionStructure:
    version_id: int
    title: str
    steps: tuple[ItemNode, ...]
    ordered: tuple[ItemNode, ...]  # every item, depth-first in display order
    by_link_id: dict[str, ItemNode] = field(hash=False)
    variables: tuple[VariableNode, ...] = ()

    def items_of_step(self, step_link_id: str) -> list[ItemNode]:
        """The step's descendants in display order (not the step group itself)."""
        return list(self._descendants[step_link_id])

    def step_index(self, step_link_id: str) -> int:
        return [s.link_id for s in self.steps].index(step_link_id)

    def step_of(self, link_id: str) -> str | None:
        node = self.by_link_id.get(link_id)
        while node is not None and node.parent_link_id is not None:
            node = self.by_link_id[node.parent_link_id]
        return node.link_id if node is not None else None

    @cached_property
    def _descendants(self) -> dict[str, tuple[ItemNode, ...]]:
        result: dict[str, list[ItemNode]] = {step.link_id: [] for step in self.steps}
        for node in self.ordered:
            step = self.step_of(node.link_id)
            if step is not None and step != node.link_id:
                result[step].append(node)
        return {k: tuple(v) for k, v in result.items()}


def version_structure_load(*, version: QuestionnaireVersion) -> VersionStructure:
    """Three queries: items, then their options and rules through prefetch."""
    items = list(
        Item.objects.filter(version=version)
        .select_related("parent")
        .prefetch_related("options", "enable_when")
        .order_by("order", "pk")
    )
    children: dict[int | None, list[Item]] = {}
    for item in items:
        children.setdefault(item.parent_id, []).append(item)

    ordered: list[ItemNode] = []

    def visit(parent_id: int | None, parent_link_id: str | None, depth: int) -> None:
        for item in children.get(parent_id, []):
            ordered.append(_node(item, parent_link_id, depth))
            visit(item.pk, item.link_id, depth + 1)

    visit(None, None, 0)
    by_link_id = {node.link_id: node for node in ordered}
    steps = tuple(node for node in ordered if node.depth == 0 and node.type == ItemType.GROUP)
    return VersionStructure(
        version_id=version.pk,
        title=version.title,
        steps=steps,
        ordered=tuple(ordered),
        by_link_id=by_link_id,
        variables=_variables(version.variables),
    )


def _variables(raw: list[dict]) -> tuple[VariableNode, ...]:
    return tuple(VariableNode(v["name"], v["expression"]) for v in raw or [])


def _node(item: Item, parent_link_id: str | None, depth: int) -> ItemNode:
    return ItemNode(
        link_id=item.link_id,
        type=item.type,
        text=item.text,
        prefix=item.prefix,
        help_text=item.help_text,
        required=item.required,
        repeats=item.repeats,
        min_value=item.min_value,
        max_value=item.max_value,
        max_length=item.max_length,
        mime_types=tuple(item.mime_types),
        max_file_size=item.max_file_size,
        enable_behavior=item.enable_behavior,
        enable_when=tuple(
            RuleNode(r.question, r.operator, r.answer) for r in item.enable_when.all()
        ),
        options=tuple(
            OptionNode(
                o.code,
                o.display,
                o.is_exclusive,
                o.ordinal_value,
                o.item_weight,
                kind=o.kind,
                system=o.system,
                initial_selected=o.initial_selected,
                extensions=tuple(o.extensions or ()),
            )
            for o in item.options.all()
        ),
        parent_link_id=parent_link_id,
        is_important_for_clinician=item.is_important_for_clinician,
        disqualifying_answer=item.disqualifying_answer,
        disqualifying_explanation=item.disqualifying_explanation,
        depth=depth,
        is_hidden=item.is_hidden,
        calculated_expression=item.calculated_expression,
        enable_when_expression=item.enable_when_expression,
        variables=_variables(item.variables),
        score_bands=tuple(
            ScoreBand(Decimal(str(b["low"])), Decimal(str(b["high"])), b["label"])
            for b in item.score_bands or []
        ),
        codes=tuple(item.codes or ()),
        initial=tuple(item.initial or ()),
        read_only=item.read_only,
        entry_format=item.entry_format,
        item_control=item.item_control,
        units=tuple(item.units or ()),
        extensions=tuple(item.extensions or ()),
        element_extensions=dict(item.element_extensions or {}),
    )
