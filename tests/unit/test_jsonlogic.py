"""The JsonLogic subset: semantics, limits and definition-time checks."""

import pytest

from services.jsonlogic import MAX_DEPTH, JsonLogicError, check_rule, evaluate, referenced_vars, truthy

DATA = {"a": 2, "name": "Bello", "pet": {"kind": "dog"}, "dogs": [{"d": True}, {"d": False}], "empty": []}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"var": "a"}, 2),
        ({"var": "pet.kind"}, "dog"),
        ({"var": "dogs.1.d"}, False),
        ({"var": ["missing", 7]}, 7),
        ({"var": ""}, DATA),
        ({"==": [1, "1"]}, True),
        ({"===": [1, "1"]}, False),
        ({"!=": [{"var": "a"}, 3]}, True),
        ({"!==": [True, 1]}, True),
        ({"<": [1, {"var": "a"}, 3]}, True),
        ({"<=": [1, 1, 0]}, False),
        ({">": [{"var": "a"}, 1]}, True),
        ({">=": ["2026-05-01", "2026-04-30"]}, True),
        ({"!": [{"var": "empty"}]}, True),
        ({"!!": ["0"]}, True),
        ({"and": [True, {"var": "a"}]}, 2),
        ({"or": [False, 0, "x"]}, "x"),
        ({"if": [False, 1, {"var": "a"}, 2, 3]}, 2),
        ({"if": [False, 1, 3]}, 3),
        ({"in": ["ell", {"var": "name"}]}, True),
        ({"in": ["x", ["a", "x"]]}, True),
        ({"+": [1, "2", 3]}, 6),
        ({"-": [5]}, -5),
        ({"*": [{"var": "a"}, 1500]}, 3000),
        ({"/": [3, 0]}, None),
        ({"min": [3, 1, 2]}, 1),
        ({"max": [3, 1, 2]}, 3),
        ({"cat": ["a", 1, None, True]}, "a1true"),
        ({"missing": ["a", "zzz", "empty"]}, ["zzz", "empty"]),
        ({"some": [{"var": "dogs"}, {"var": "d"}]}, True),
        ({"all": [{"var": "dogs"}, {"var": "d"}]}, False),
        ({"none": [{"var": "dogs"}, {"var": "d"}]}, False),
        ({"all": [[], True]}, False),
    ],
)
def test_evaluate_subset(rule, expected):
    assert evaluate(rule, DATA) == expected


def test_evaluate_bad_operands_yield_none_or_false():
    assert evaluate({"+": [1, "abc"]}, {}) is None
    assert evaluate({"<": [1, None]}, {}) is False
    assert evaluate({"*": [1e10, 1e10]}, {}) is None  # beyond the bounded range


def test_evaluate_rejects_unknown_operator_and_deep_nesting():
    with pytest.raises(JsonLogicError, match="Unbekannter Operator „eval“"):
        evaluate({"eval": ["1+1"]}, {})
    deep = True
    for _ in range(MAX_DEPTH + 5):
        deep = {"!": [deep]}
    with pytest.raises(JsonLogicError):
        evaluate(deep, {})


def test_check_rule_reports_paths():
    assert check_rule({"and": [{"==": [1, 1]}, {"regex": ["a", "b"]}]}) == [
        (".and[1]", "Unbekannter Operator „regex“.")
    ]
    assert check_rule({"==": [1, 1], "!=": [1, 2]})[0][1].startswith(
        "Jeder Baustein der Bedingung braucht genau einen Operator"
    )
    assert check_rule({"some": [{"var": "x"}]})[0] == (
        ".some",
        "„some“ erwartet eine Liste und eine Bedingung.",
    )
    assert (
        check_rule({"var": ["a", 1, 2]})[0][1]
        == "„var“ erwartet einen Feldnamen und höchstens einen Ersatzwert."
    )


def test_check_rule_size_limit():
    rule = {"+": list(range(1200))}
    assert any("zu groß" in reason for _path, reason in check_rule(rule))


def test_referenced_vars_skips_predicate_scope():
    rule = {"and": [{"var": "a.b"}, {"some": [{"var": "dogs"}, {"var": "d"}]}, {"var": ["c", 1]}]}
    assert referenced_vars(rule) == {"a.b", "dogs", "c"}


def test_truthy_follows_jsonlogic():
    assert [truthy(v) for v in ([], [0], "", "0", 0, None, {})] == [
        False,
        True,
        False,
        True,
        False,
        False,
        False,
    ]
