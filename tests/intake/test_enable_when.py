import pytest

from intake.structure import ItemNode, RuleNode, VersionStructure
from intake.validation import is_enabled


def _structure(target_type: str, rules: list[RuleNode], behavior: str = "all") -> VersionStructure:
    step = ItemNode(link_id="step", type="group", text="Step")
    nodes = [step]
    for name in {r.question for r in rules}:
        nodes.append(
            ItemNode(link_id=name, type=target_type, text=name, parent_link_id="step", depth=1)
        )
    follow_up = ItemNode(
        link_id="follow-up", type="string", text="?", enable_when=tuple(rules), enable_behavior=behavior,
        parent_link_id="step", depth=1,
    )  # fmt: skip
    nodes.append(follow_up)
    return VersionStructure(
        version_id=1,
        title="t",
        steps=(step,),
        ordered=tuple(nodes),
        by_link_id={n.link_id: n for n in nodes},
    )


def _enabled(target_type, operator, rule_answer, answer, behavior="all"):
    structure = _structure(target_type, [RuleNode("q", operator, rule_answer)], behavior)
    return is_enabled(structure.by_link_id["follow-up"], structure, {"q": answer})


@pytest.mark.parametrize(
    ("item_type", "operator", "rule", "answer", "expected"),
    [
        ("integer", "=", "5", [5], True),
        ("integer", "=", "5", [6], False),
        ("integer", "!=", "5", [6], True),
        ("integer", "!=", "5", [5], False),
        ("integer", ">", "5", [6], True),
        ("integer", ">", "5", [5], False),
        ("integer", "<", "5", [4], True),
        ("integer", "<", "5", [5], False),
        ("integer", ">=", "5", [5], True),
        ("integer", ">=", "5", [4], False),
        ("integer", "<=", "5", [5], True),
        ("integer", "<=", "5", [6], False),
        ("decimal", ">", "1.5", ["1.75"], True),
        ("decimal", ">", "1.5", ["1.25"], False),
        ("date", "<", "2000-01-01", ["1999-12-31"], True),
        ("date", "<", "2000-01-01", ["2000-01-01"], False),
        ("boolean", "=", "true", [True], True),
        ("boolean", "=", "true", [False], False),
        ("choice", "=", "red", ["blue", "red"], True),  # any of several answers
        ("choice", "=", "red", ["blue"], False),
        ("string", "=", "yes", ["yes"], True),
        ("integer", "exists", "true", [1], True),
        ("integer", "exists", "true", [], False),
        ("integer", "exists", "false", [], True),
        ("integer", "exists", "false", [1], False),
        ("integer", ">", "5", [], False),  # an unanswered question never satisfies a comparison
        ("integer", "!=", "5", [], False),
    ],
)
def test_every_operator(item_type, operator, rule, answer, expected):
    assert _enabled(item_type, operator, rule, answer) is expected


@pytest.mark.parametrize(
    ("behavior", "a", "b", "expected"),
    [
        ("all", [1], [1], True),
        ("all", [1], [2], False),
        ("any", [1], [2], True),
        ("any", [2], [2], False),
    ],
)
def test_all_and_any_behaviours(behavior, a, b, expected):
    rules = [RuleNode("a", "=", "1"), RuleNode("b", "=", "1")]
    structure = _structure("integer", rules, behavior)
    assert is_enabled(structure.by_link_id["follow-up"], structure, {"a": a, "b": b}) is expected


def test_an_item_inside_a_hidden_group_is_hidden():
    step = ItemNode(link_id="step", type="group", text="Step")
    trigger = ItemNode(link_id="smoker", type="boolean", text="?", parent_link_id="step", depth=1)
    group = ItemNode(
        link_id="smoking", type="group", text="Smoking", parent_link_id="step", depth=1,
        enable_when=(RuleNode("smoker", "=", "true"),),
    )  # fmt: skip
    inner = ItemNode(link_id="packs", type="integer", text="?", parent_link_id="smoking", depth=2)
    nodes = (step, trigger, group, inner)
    structure = VersionStructure(1, "t", (step,), nodes, {n.link_id: n for n in nodes})
    assert not is_enabled(inner, structure, {"smoker": [False]})
    assert is_enabled(inner, structure, {"smoker": [True]})
