"""The examples of the destination-filter specification, each with @segment/tsub 2.0.1's answer.

FQL expressions per operator and matchers on EVENT; transformer steps on ORDER; routing
rules per destination. The tests of tests/test_filters_*.py assert them of our engine, and
tests/test_filters_tsub.py asks tsub itself: the literals are tsub's answers, not our guesses.
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

from segment_statsig.filters import FilterError

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


def outcome(run: Any) -> Any:
    """What run() answers, or RAISES where it raises FilterError (where tsub throws)."""
    try:
        return run()
    except FilterError:
        return RAISES
