"""One condition of a Statsig rule, answered as Statsig's JS on-device evaluator answers it
(@statsig/on-device-eval-core, EvaluationComparison.ts): what a user field, an environment
field or a unit ID reads, and every operator, with JavaScript's conversions (String(),
Number(), loose ==, string-vs-string ordering) rather than Python's.

The specs are JSON, so values are what ``json.loads`` returns; a field the user does not
hold is UNDEFINED (filters/jsvalues.py), which String() writes as "undefined".
"""
from __future__ import annotations

import datetime
import math
import re

from ...filters.jsvalues import JS_SPACE, UNDEFINED, is_number, strict_equal, to_number, to_string, units

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, Optional

_MAX_DATE_MS = 8.64e15  # a JavaScript Date holds no time beyond it (TimeClip)
_DAY_MS = 86_400_000


def nullish(value: Any) -> bool:
    return value is None or value is UNDEFINED


def _first(*values: Any) -> Any:
    """JavaScript's a ?? b ?? …: the first value that is neither null nor undefined."""
    for value in values:
        if not nullish(value):
            return value
    return UNDEFINED


def _get(mapping: Any, key: str) -> Any:
    return mapping.get(key, UNDEFINED) if isinstance(mapping, dict) else UNDEFINED


def user_field(user: Dict[str, Any], field: Any) -> Any:
    """A user field as JS looks it up: the top level, then custom, then private attributes,
    each by the name as given and then lowercased."""
    if nullish(field):
        return None
    name = to_string(field)
    lower = name.lower()
    custom, private = _get(user, "custom"), _get(user, "privateAttributes")
    return _first(_get(user, name), _get(user, lower), _get(custom, name), _get(custom, lower),
                  _get(private, name), _get(private, lower))


def environment_field(user: Dict[str, Any], field: Any) -> Any:
    """A field of the user's statsigEnvironment, its name compared without case."""
    if nullish(field):
        return None
    environment = _get(user, "statsigEnvironment")
    if not isinstance(environment, dict):
        return UNDEFINED
    lower = to_string(field).lower()
    for key, value in environment.items():
        if key.lower() == lower:
            return value
    return UNDEFINED


def unit_id(user: Dict[str, Any], id_type: Any) -> Any:
    """The ID a rule buckets by: userID, or the custom ID named by idType (as given, then lowercased)."""
    if not isinstance(id_type, str) or id_type.lower() == "userid":
        return _get(user, "userID")
    custom_ids = _get(user, "customIDs")
    return _first(_get(custom_ids, id_type), _get(custom_ids, id_type.lower()))


# --- JavaScript's comparisons -------------------------------------------------------------
def _primitive(value: Any) -> Any:
    """ToPrimitive of a JSON value: arrays and objects become their String()."""
    return to_string(value) if isinstance(value, (list, dict)) else value


def _less(a: Any, b: Any) -> Optional[bool]:
    """JavaScript's abstract a < b (None: undefined, a NaN was involved)."""
    a, b = _primitive(a), _primitive(b)
    if isinstance(a, str) and isinstance(b, str):
        return units(a) < units(b)  # code unit order, as JavaScript compares strings
    x, y = to_number(a), to_number(b)
    if math.isnan(x) or math.isnan(y):
        return None
    return x < y


def loose_equal(a: Any, b: Any) -> bool:
    """JavaScript's a == b over JSON values (objects equal only themselves)."""
    if nullish(a) or nullish(b):
        return nullish(a) and nullish(b)
    if isinstance(a, bool):
        return loose_equal(1 if a else 0, b)
    if isinstance(b, bool):
        return loose_equal(a, 1 if b else 0)
    a_object, b_object = isinstance(a, (list, dict)), isinstance(b, (list, dict))
    if a_object or b_object:
        return a is b if a_object and b_object else loose_equal(_primitive(a), _primitive(b))
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return to_number(a) == to_number(b)


def compare_numbers(left: Any, right: Any, operator: str) -> bool:
    if nullish(left) or nullish(right) or math.isnan(to_number(left)) or math.isnan(to_number(right)):
        return False
    if operator == "gt":
        return _less(right, left) is True
    if operator == "lt":
        return _less(left, right) is True
    if operator == "gte":  # a >= b is !(a < b) when defined
        return _less(left, right) is False
    if operator == "lte":
        return _less(right, left) is False
    return False


def parse_int(text: str) -> float:
    """JavaScript's parseInt(text) (radix 10, or 16 after 0x): NaN when no digit leads."""
    text = text.lstrip(JS_SPACE)
    sign = -1 if text[:1] == "-" else 1
    if text[:1] in "+-" and text:
        text = text[1:]
    digits, base = "0123456789", 10
    if text[:2] in ("0x", "0X"):
        text, digits, base = text[2:], "0123456789abcdefABCDEF", 16
    end = 0
    while end < len(text) and text[end] in digits:
        end += 1
    return sign * float(int(text[:end], base)) if end else math.nan


def compare_versions(left: Any, right: Any, operator: str) -> bool:
    if nullish(left) or nullish(right):
        return False
    a = [parse_int(part) for part in to_string(left).split("-", 1)[0].split(".")]
    b = [parse_int(part) for part in to_string(right).split("-", 1)[0].split(".")]
    order = 0
    for i in range(max(len(a), len(b))):
        x, y = a[i] if i < len(a) else 0, b[i] if i < len(b) else 0
        if x < y or x > y:  # NaN is neither: that part counts as equal, as in JS
            order = -1 if x < y else 1
            break
    return {"version_gt": order > 0, "version_gte": order >= 0, "version_lt": order < 0,
            "version_lte": order <= 0, "version_eq": order == 0, "version_neq": order != 0}.get(operator, False)


_NEGATED = ("none", "none_case_sensitive", "str_contains_none")


def compare_string_in_array(value: Any, targets: Any, operator: str) -> bool:
    if not isinstance(targets, list):
        return False
    ignore_case = operator not in ("any_case_sensitive", "none_case_sensitive")
    left = to_string(value)
    left = left.lower() if ignore_case else left
    found = False
    for target in targets:
        right = to_string(target)
        right = right.lower() if ignore_case else right
        if operator in ("any", "none", "any_case_sensitive", "none_case_sensitive"):
            found = left == right
        elif operator == "str_starts_with_any":
            found = left.startswith(right)
        elif operator == "str_ends_with_any":
            found = left.endswith(right)
        elif operator in ("str_contains_any", "str_contains_none"):
            found = right in left
        if found:
            break
    return not found if operator in _NEGATED else found


def compare_regex(value: Any, target: Any) -> bool:
    """A search with the target pattern, over a value shorter than 1,000 characters. Patterns
    are read by Python's re: the syntax both languages share means the same."""
    text = to_string(value)
    if len(units(text)) >= 1000:
        return False
    try:
        return re.search(to_string(target), text) is not None
    except (re.error, RecursionError):
        return False


def _date_ms(value: Any) -> Optional[float]:
    """A time in ms as JavaScript reads it: numbers below 1e10 are seconds, larger are ms;
    other text as an ISO-8601 date (date-only in UTC). None: no valid time."""
    number = to_number(value)
    if not math.isnan(number):
        ms = number * 1000 if number < 1e10 else number
    else:
        try:
            parsed = datetime.datetime.fromisoformat(to_string(value).strip())
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=datetime.timezone.utc)
        ms = parsed.timestamp() * 1000
    if math.isnan(ms) or abs(ms) > _MAX_DATE_MS:
        return None
    return float(math.trunc(ms))


def compare_time(left: Any, right: Any, operator: str) -> bool:
    if nullish(left) or nullish(right):
        return False
    a, b = _date_ms(left), _date_ms(right)
    if a is None or b is None:
        return False
    if operator == "before":
        return a < b
    if operator == "after":
        return a > b
    if operator == "on":
        return a // _DAY_MS == b // _DAY_MS  # the same UTC day
    return False


_FLOAT_PREFIX = re.compile(r"[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")


def parse_float(value: Any) -> float:
    """JavaScript's parseFloat: the longest number the text starts with, else NaN."""
    match = _FLOAT_PREFIX.match(to_string(value).lstrip(JS_SPACE))
    if match is None:
        return math.nan
    text = match.group(0)
    return float(text.replace("Infinity", "inf"))


def _has(values: Any, wanted: Any) -> bool:
    """Set.prototype.has: SameValueZero, so 1 is not "1" and true is not 1."""
    return any(strict_equal(item, wanted) for item in values)


def compare_arrays(value: Any, targets: Any, operator: str) -> bool:
    if not isinstance(targets, list) or not isinstance(value, list):
        return False

    def holds(target: Any) -> bool:
        number = parse_float(target)
        return _has(value, target) or (not math.isnan(number) and any(
            is_number(item) and float(item) == number for item in value))

    if operator in ("array_contains_any", "array_contains_none"):
        found = any(holds(target) for target in targets)
        return found if operator == "array_contains_any" else not found
    every = all(holds(target) for target in targets)
    return every if operator == "array_contains_all" else not every
