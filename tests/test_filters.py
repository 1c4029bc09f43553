"""Destination filters, as a specification: what each FQL operator and each transformer does,
with literal answers. Every example here is also sent to @segment/tsub 2.0.1 itself (last
test): the literals are tsub's answers, not our guesses.
"""
from __future__ import annotations

import copy
import json
from typing import Any, Dict, List, Optional, Tuple

import pytest

from segment_statsig.filters import FilterError, apply_rules, matches, routing_rules, rules_for, transform
from segment_statsig.filters.jsjson import stringify

from .filters_oracle import run_tsub

RAISES = "raises"  # tsub throws: FilterError here

EVENT: Dict[str, Any] = {
    "type": "track", "event": "Order Completed", "userId": "u1",
    "properties": {"total": 120, "count": "5", "price": 9.99, "coupon": None, "paid": True,
                   "email": "Ada@Example.com", "tags": ["a", "b"], "empty": "", "emoji": "a😀b",
                   "items": [{"sku": "x1", "qty": 2}, {"sku": "y2", "qty": 1}],
                   "address": {"city": "Zürich"}},
    "context": {"app": {"version": "1.10.2"}},
}


def v(value: Any) -> Dict[str, Any]:
    return {"value": value}


# operator -> [(FQL IR, tsub's answer on EVENT)]
FQL: Dict[str, List[Tuple[Any, Any]]] = {
    "=": [  # JavaScript's ===: the same type and value; objects and lists by their JSON text
        (["=", "properties.total", v(120)], True),
        (["=", "properties.total", v(120.0)], True),          # one number type
        (["=", "properties.total", v("120")], False),         # a number is not its text
        (["=", "properties.count", v(5)], False),             # numbers as strings stay strings
        (["=", "properties.count", v("5")], True),
        (["=", "properties.paid", v(1)], False),
        (["=", "properties.coupon", v(None)], True),
        (["=", "properties.missing", v(None)], False),        # missing is undefined, not null
        (["=", "properties.address", v({"city": "Zürich"})], True),
        (["=", "properties.tags", v(["b", "a"])], False),
        (["=", "properties.items.1.sku", v("y2")], True),     # a path goes into lists
        (["=", "properties.emoji.length", v(4)], True),       # strings count UTF-16 units
        (["=", "properties.emoji.1", v("\ud83d")], True),     # … and index them
        (["=", "event", "event"], True),                       # two paths
        (["=", "event"], RAISES),                              # an operand is missing
    ],
    "!=": [
        (["!=", "properties.total", v("120")], True),
        (["!=", "properties.missing", v(None)], True),
        (["!=", "properties.tags", v(["a", "b"])], False),
    ],
    "<": [  # only between two numbers
        (["<", "properties.price", v(10)], True),
        (["<", "properties.count", v(10)], False),            # "5" is a string
        (["<", "properties.missing", v(1)], False),
        (["<", ["length", "properties.total"], v(100)], False),   # length of a number is NaN
    ],
    "<=": [
        (["<=", "properties.price", v(9.99)], True),
        (["<=", "properties.paid", v(1)], False),              # true is not a number
    ],
    ">": [
        ([">", "properties.total", v(100)], True),
        ([">", "properties.total", v("100")], False),
    ],
    ">=": [
        ([">=", ["length", "properties.tags"], v(2)], True),   # a function call is evaluated
        ([">=", "properties.total", v(120)], True),
    ],
    "and": [
        (["and", ["=", "type", v("track")], [">", "properties.total", v(100)]], True),
        (["and", ["=", "type", v("page")], ["in", "event", "event"]], False),  # stops at the first false
        (["and"], True),
    ],
    "or": [
        (["or", ["=", "type", v("page")], ["=", "userId", v("u1")]], True),
        (["or", ["=", "type", v("track")], ["in", "event", "event"]], True),   # stops at the first true
        (["or"], False),
    ],
    "!": [
        (["!", ["=", "type", v("page")]], True),
        (["!", ["lowercase", "event"]], False),                # a non-empty string is truthy
        (["!"], RAISES),
    ],
    "in": [
        (["in", "event", [v("Refund"), v("Order Completed")]], True),
        (["in", "properties.total", [v("120")]], False),
        (["in", v("u1"), ["userId"]], True),                    # a bare string in the list is a path
        (["in", "event", "event"], RAISES),                     # not a list
    ],
    "contains": [
        (["contains", "properties.email", v("@Example")], True),
        (["contains", "properties.email", v("@example")], False),   # case matters
        (["contains", "properties.total", v("12")], False),         # strings only
        (["contains", "event", v("")], True),
    ],
    "match": [  # segmentio/glob: * crosses "/", ? is one character, [a-z] a class, \ escapes
        (["match", "event", v("Order*")], True),
        (["match", "event", v("order*")], False),
        (["match", "properties.email", v("*@*.com")], True),
        (["match", v("ab/c"), v("a*")], True),
        (["match", v("a1"), v("a[0-9]")], True),
        (["match", v("ab"), v("a?")], True),
        (["match", v("a*"), v("a\\*")], True),
        (["match", v("["), v("[")], False),                      # a bad pattern matches nothing
        (["match", "properties.total", v("*")], False),
    ],
    "lowercase": [
        (["=", ["lowercase", "properties.email"], v("ada@example.com")], True),
        (["=", ["lowercase", "properties.total"], v(None)], True),   # not a string: null
        (["lowercase", "event"], False),                              # alone it is no boolean: false
    ],
    "typeof": [
        (["=", ["typeof", "properties.total"], v("number")], True),
        (["=", ["typeof", "properties.count"], v("string")], True),
        (["=", ["typeof", "properties.coupon"], v("object")], True),
        (["=", ["typeof", "properties.tags"], v("object")], True),
        (["=", ["typeof", "properties.missing"], v("undefined")], True),
        (["=", ["typeof", "properties.empty.length"], v("undefined")], True),  # "" ends the walk
        (["=", ["typeof", 5], v("object")], True),              # a number as path reads the event
    ],
    "length": [
        (["=", ["length", "properties.tags"], v(2)], True),
        (["=", ["length", "properties.coupon"], v(0)], True),   # null has length 0
        (["=", ["length", "properties.emoji"], v(4)], True),
        (["=", ["length", "properties.address"], v(1)], False), # objects have none (NaN)
    ],
    "semver": [  # numeric parts; missing parts are 0; each part read as parseInt reads it
        (["semver", "context.app.version", v(">"), v("1.9.0")], True),
        (["semver", "context.app.version", v("="), v("1.10.2")], True),
        (["semver", v("2"), v("="), v("2.0.0")], True),
        (["semver", v("1.2.3-beta"), v("="), v("1.2.3")], True),
        (["semver", v("1.2.3.4"), v("<"), v("2")], False),       # four parts: no version
        (["semver", v("1.2.3"), v("~"), v("1.2.3")], False),     # unknown operator
        (["=", ["semver", v("1.0"), v("<"), v("1.1")], v(True)], True),
    ],
}

# A matcher around the IR: (matcher, tsub's answer on EVENT)
MATCHERS: List[Tuple[Any, Any]] = [
    ({"type": "all"}, True),
    ({"type": "fql", "ir": '"properties.paid"'}, True),      # a bare path: is it literally true
    ({"type": "fql", "ir": '"properties.count"'}, False),
    ({"type": "fql", "ir": ""}, False),
    ({"type": "fql"}, False),
    ({"type": "fql", "ir": "{"}, RAISES),
    ({"type": "fql", "ir": '["xor", "a", "b"]'}, RAISES),
    ({"type": "other"}, RAISES),
    (None, RAISES),
]

ORDER: Dict[str, Any] = {
    "type": "track", "event": "Order Completed",
    "properties": {"total": 120, "zero": 0, "coupon": None, "email": "ada@example.com",
                   "tags": ["a", "b"], "items": [{"sku": "x1", "qty": 2}, {"sku": "y2", "qty": 1}]},
}


def order(properties: Dict[str, Any]) -> Dict[str, Any]:
    return {"type": "track", "event": "Order Completed", "properties": properties}


def t(kind: str, **config: Any) -> Dict[str, Any]:
    return {"type": kind, "config": config}


ITEMS = [{"sku": "x1", "qty": 2}, {"sku": "y2", "qty": 1}]

# transformer -> [(one step on ORDER, tsub's result, random draws)]
TRANSFORMS: Dict[str, List[Tuple[Any, Any, List[float]]]] = {
    "drop": [
        ([{"type": "drop"}], None, []),
    ],
    "drop_properties": [
        ([t("drop_properties", drop={"properties": ["email", "missing"]})],
         order({"total": 120, "zero": 0, "coupon": None, "tags": ["a", "b"], "items": ITEMS}), []),
        ([t("drop_properties", drop={"properties.items": ["qty"]})],   # a list: from each object
         order({"total": 120, "zero": 0, "coupon": None, "email": "ada@example.com", "tags": ["a", "b"],
                "items": [{"sku": "x1"}, {"sku": "y2"}]}), []),
        ([t("drop_properties", drop={"": ["event"]})],                  # "": the event itself
         {"type": "track", "properties": ORDER["properties"]}, []),
        ([t("drop_properties", drop={"properties": "email"})], RAISES, []),  # not a list
    ],
    "allow_properties": [
        ([t("allow_properties", allow={"properties": ["total", "items"]})],
         order({"total": 120, "items": ITEMS}), []),
        ([t("allow_properties", allow={"properties.items": ["sku"]})],
         order({"total": 120, "zero": 0, "coupon": None, "email": "ada@example.com", "tags": ["a", "b"],
                "items": [{"sku": "x1"}, {"sku": "y2"}]}), []),
        ([t("allow_properties", allow={"properties": "totals, emails"})],  # a string: its substrings stay
         order({"total": 120, "email": "ada@example.com"}), []),
    ],
    "sample_event": [
        ([t("sample_event", sample={"percent": 0})], None, []),
        ([t("sample_event", sample={"percent": 1})], ORDER, []),
        ([t("sample_event", sample={"percent": 0.5})], ORDER, [0.5]),     # kept when the draw <= p
        ([t("sample_event", sample={"percent": 0.5})], None, [0.51]),
        ([t("sample_event", sample={"percent": "0.5"})], ORDER, [0.2]),   # p as Number() reads it
        ([t("sample_event", sample={"percent": 0.01, "path": "properties.email"})], ORDER, []),  # always kept
        ([t("sample_event", sample={"percent": 0.5, "path": ""})], None, [0.9]),  # "" is no path
        ([t("sample_event")], RAISES, []),
    ],
    "map_properties": [
        ([t("map_properties", map={"properties.revenue": {"copy": "properties.total"}})],
         order({**ORDER["properties"], "revenue": 120}), []),
        ([t("map_properties", map={"properties.mail": {"move": "properties.email"}})],
         order({"total": 120, "zero": 0, "coupon": None, "tags": ["a", "b"], "items": ITEMS,
                "mail": "ada@example.com"}), []),
        ([t("map_properties", map={"properties.z": {"move": "properties.zero"}})],   # a falsy source stays
         order({**ORDER["properties"], "z": 0}), []),
        ([t("map_properties", map={"properties.total": {"set": 7}, "properties.was": {"copy": "properties.total"}})],
         order({**ORDER["properties"], "total": 7, "was": 120}), []),               # reads see the event before
        ([t("map_properties", map={"properties.total": {"to_string": True}, "properties.coupon": {"to_string": True},
                                   "properties.none": {"to_string": True}, "properties.tags": {"to_string": True}})],
         order({**ORDER["properties"], "total": "120", "coupon": "null", "none": "undefined"}), []),
        ([t("map_properties", map={"properties.tags.3": {"set": "d"}})],              # a list grows
         order({**ORDER["properties"], "tags": ["a", "b", None, "d"]}), []),
        ([t("map_properties", map={"properties.labels": {"move": "properties.tags"},
                                   "properties.tags.1": {"set": "x"}})],               # a numeric key makes a list
         order({"total": 120, "zero": 0, "coupon": None, "email": "ada@example.com", "items": ITEMS,
                "labels": ["a", "b"], "tags": [None, "x"]}), []),
        ([t("map_properties", map={"properties.prototype": {"set": 1}})], ORDER, []),   # dset stops there
        ([t("map_properties", map={"properties.nope.x": {"set": 1}})], ORDER, []),      # no parent: skipped
        ([t("map_properties", map={"properties.coupon.x": {"set": 1}})], RAISES, []),   # through null
    ],
    "hash_properties": [
        ([t("hash_properties", hash={"properties": ["email"]})], ORDER, []),          # ignored
    ],
    "other": [
        ([{"type": "rename"}], RAISES, []),
        ([], ORDER, []),
        ({}, ORDER, []),            # tsub loops to `.length`: an object has none
        ([{"type": "drop_properties", "config": {"drop": {"properties": ["email"]}}}, {"type": "drop"}], None, []),
    ],
}

RULES: List[Dict[str, Any]] = [
    {"destinationName": "Statsig", "matchers": [{"type": "fql", "ir": '["=", "event", {"value": "Refund"}]'},
                                                {"type": "all"}],
     "transformers": [[{"type": "drop"}], [t("drop_properties", drop={"properties": ["email"]})]]},
    {"matchers": [{"type": "all"}],  # no destinationName: for every destination
     "transformers": [[t("map_properties", map={"properties.total": {"to_string": True}})]]},
    {"destinationName": "Amplitude", "matchers": [{"type": "all"}], "transformers": [[{"type": "drop"}]]},
]
RULE_CASES: List[Tuple[Dict[str, Any], str, Any]] = [
    (ORDER, "Statsig", order({"total": "120", "zero": 0, "coupon": None, "tags": ["a", "b"], "items": ITEMS})),
    ({**ORDER, "event": "Refund"}, "Statsig", None),
    (ORDER, "Amplitude", None),
    (ORDER, "Mixpanel", order({**ORDER["properties"], "total": "120"})),
]


def fql(ir: Any, event: Dict[str, Any] = EVENT) -> Any:
    return outcome(lambda: matches(event, {"type": "fql", "ir": json.dumps(ir)}))


def outcome(run: Any) -> Any:
    try:
        return run()
    except FilterError:
        return RAISES


def draws_of(values: List[float]) -> Any:
    it = iter(values)
    return lambda: next(it)


def operator_cases(op: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("ir, expected", FQL[op], ids=[json.dumps(ir) for ir, _ in FQL[op]])


@operator_cases("=")
def test_equals_is_javascript_strict_equality(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("!=")
def test_not_equals(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("<")
def test_less_holds_between_two_numbers_only(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("<=")
def test_less_or_equal(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases(">")
def test_greater(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases(">=")
def test_greater_or_equal(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("and")
def test_and_stops_at_the_first_false(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("or")
def test_or_stops_at_the_first_true(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("!")
def test_not_negates_truthiness(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("in")
def test_in_a_list_of_operands(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("contains")
def test_contains_a_substring(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("match")
def test_match_a_glob(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("lowercase")
def test_lowercase(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("typeof")
def test_typeof_names_the_javascript_type(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("length")
def test_length_of_a_list_or_string(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("semver")
def test_semver_compares_versions(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@pytest.mark.parametrize("matcher, expected", MATCHERS, ids=[json.dumps(m) for m, _ in MATCHERS])
def test_a_matcher_is_all_or_fql(matcher: Any, expected: Any) -> None:
    assert outcome(lambda: matches(EVENT, matcher)) == expected


def transformer_cases(kind: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("step, expected, draws", TRANSFORMS[kind],
                                   ids=[json.dumps(step, ensure_ascii=False)[:80] for step, _, _ in TRANSFORMS[kind]])


@transformer_cases("drop")
def test_drop(step: Any, expected: Any, draws: List[float]) -> None:
    assert outcome(lambda: transform(ORDER, step)) == expected


@transformer_cases("drop_properties")
def test_drop_properties(step: Any, expected: Any, draws: List[float]) -> None:
    assert outcome(lambda: transform(ORDER, step)) == expected


@transformer_cases("allow_properties")
def test_allow_properties(step: Any, expected: Any, draws: List[float]) -> None:
    assert outcome(lambda: transform(ORDER, step)) == expected


@transformer_cases("sample_event")
def test_sample_event(step: Any, expected: Any, draws: List[float]) -> None:
    assert outcome(lambda: transform(ORDER, step, random=draws_of(draws))) == expected


@transformer_cases("map_properties")
def test_map_properties(step: Any, expected: Any, draws: List[float]) -> None:
    assert outcome(lambda: transform(ORDER, step)) == expected


@transformer_cases("hash_properties")
def test_hash_properties_is_ignored(step: Any, expected: Any, draws: List[float]) -> None:
    assert outcome(lambda: transform(ORDER, step)) == expected


@transformer_cases("other")
def test_a_step_runs_its_transformers_in_order(step: Any, expected: Any, draws: List[float]) -> None:
    assert outcome(lambda: transform(ORDER, step)) == expected


@pytest.mark.parametrize("event, destination, expected", RULE_CASES)
def test_a_destinations_rules_run_on_its_copy(event: Dict[str, Any], destination: str, expected: Any) -> None:
    assert apply_rules(event, RULES, destination) == expected


def test_rules_for_a_destination_are_its_own_and_those_naming_none() -> None:
    assert rules_for(RULES, "Statsig") == RULES[:2]
    assert rules_for(RULES, "Mixpanel") == [RULES[1]]
    assert rules_for([], "Statsig") == []


def test_the_rules_come_from_the_cdn_settings_middleware() -> None:
    settings = {"integrations": {"Statsig": {"apiKey": "client-x"}}, "middlewareSettings": {"routingRules": RULES}}
    assert routing_rules(settings) == RULES
    assert routing_rules({"integrations": {}}) == []
    assert routing_rules({"middlewareSettings": {"routingRules": "nonsense"}}) == []


def test_where_tsub_throws_a_value_error_is_raised() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        transform(ORDER, [{"type": "rename"}])
    assert issubclass(FilterError, ValueError)


def test_the_callers_event_is_never_changed() -> None:
    before = copy.deepcopy(ORDER)
    steps = [t("drop_properties", drop={"properties": ["email"]}), t("map_properties", map={"properties.x": {"set": 1}})]
    assert transform(ORDER, steps) is not ORDER
    assert apply_rules(ORDER, RULES, "Statsig") is not ORDER
    assert transform(ORDER, [t("drop_properties", drop={"properties": ["email"]}), {"type": "drop"}]) is None
    assert ORDER == before


def test_a_set_value_is_copied_so_the_rule_stays_as_it_was() -> None:
    steps = [t("map_properties", map={"properties.o": {"set": {"a": 1, "b": 2}}}),
             t("drop_properties", drop={"properties.o": ["a"]})]
    assert transform(ORDER, steps) == order({**ORDER["properties"], "o": {"b": 2}})
    assert steps[0]["config"]["map"]["properties.o"]["set"] == {"a": 1, "b": 2}


def test_no_event_leaves_with_javascript_only_values() -> None:
    step = [t("map_properties", map={"properties.tags.4": {"set": "e"}, "properties.tags.x": {"set": 1}})]
    result = transform(ORDER, step)
    assert result is not None and result["properties"]["tags"] == ["a", "b", None, None, "e"]
    assert type(result["properties"]["tags"]) is list


def test_importing_segment_statsig_does_not_import_the_filters() -> None:
    import subprocess
    import sys

    code = "import sys, segment_statsig; print('segment_statsig.filters' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_every_example_here_is_what_tsub_answers() -> None:
    """The literals above, asked of tsub itself (one node process)."""
    cases: List[Tuple[Dict[str, Any], Any]] = []
    for examples in FQL.values():
        for ir, expected in examples:
            cases.append(({"kind": "match", "event": EVENT, "matcher": {"type": "fql", "ir": json.dumps(ir)}}, expected))
    for matcher, expected in MATCHERS:
        cases.append(({"kind": "match", "event": EVENT, "matcher": matcher}, expected))
    for transform_examples in TRANSFORMS.values():
        for step, expected, draws in transform_examples:
            cases.append(({"kind": "transform", "event": ORDER, "transformers": step, "random": draws}, expected))
    for event, destination, expected in RULE_CASES:
        cases.append(({"kind": "rules", "event": event, "rules": RULES, "destination": destination}, expected))
    answers = run_tsub([json.dumps(case) for case, _ in cases])
    wrong = []
    for (case, expected), answer in zip(cases, answers):
        theirs = RAISES if "error" in answer else answer["ok"]
        ours = expected if expected is RAISES or isinstance(expected, bool) else _json(expected)
        if theirs != ours:
            wrong.append(f"{json.dumps(case, ensure_ascii=False)[:300]}\n    here: {ours}\n    tsub: {theirs}")
    assert not wrong, f"{len(wrong)} examples are not what tsub answers:\n" + "\n".join(wrong)


def _json(value: Optional[Dict[str, Any]]) -> Optional[str]:
    return None if value is None else stringify(value)


def test_without_node_or_tsub_the_tests_fail_saying_what_to_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from . import filters_oracle

    monkeypatch.setattr(filters_oracle, "TSUB", filters_oracle.NODE_DIR / "node_modules" / "nowhere" / "package.json")
    with pytest.raises(pytest.fail.Exception, match=r"run \./dev test"):
        filters_oracle.run_tsub(["{}"])
