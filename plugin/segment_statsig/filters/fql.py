"""Matchers: whether a destination filter's condition holds for an event, as tsub decides.

A matcher is `{"type": "all"}` or `{"type": "fql", "ir": "<JSON text>"}`; the IR is FQL
compiled to nested lists, e.g. `["and", ["=", "event", {"value": "Order Completed"}],
[">", "properties.total", {"value": 100}]]`. An operand is a path into the event
("properties.total"), a literal (`{"value": …}`), or more IR.

Type strict, as tsub: `=` is ===, so `5` is not `"5"`; `<`, `<=`, `>`, `>=` hold only
between two numbers; `contains` and `match` only between strings. Two objects or lists
are equal when their JSON texts are. A result that is not a boolean (e.g. a bare
`lowercase(...)`) is false.
"""
from __future__ import annotations

import functools
import math

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

from . import paths
from .globmatch import glob_matches
from .jsjson import parse, stringify
from .jsobjects import get
from .jsvalues import (JS_SPACE, UNDEFINED, FilterError, as_float, is_number, is_object, strict_equal,
                       to_string, truthy, typeof, units, utf16_length)

_NUMERIC = ("<", "<=", ">", ">=")
_FUNCTION_ARITY = {"lowercase": 2, "length": 2, "typeof": 2, "contains": 3, "match": 3, "semver": 4}


# Rules repeat for every event; their IR is read, never changed, so one parse serves all.
_parse_ir = functools.lru_cache(maxsize=256)(parse)


def matches(event: Dict[str, Any], matcher: Dict[str, Any]) -> bool:
    """tsub's matches(event, matcher)."""
    if not truthy(matcher):
        raise FilterError("No matcher supplied!")
    kind = get(matcher, "type")
    if kind == "all" and isinstance(kind, str):
        return True
    if kind == "fql" and isinstance(kind, str):
        return _fql(get(matcher, "ir"), event)
    raise FilterError(f"Matcher of type {to_string(kind)} unsupported.")


def _fql(ir: Any, event: Any) -> bool:
    if not truthy(ir):
        return False
    try:
        tree = _parse_ir(ir if isinstance(ir, str) else to_string(ir))
    except (ValueError, RecursionError) as error:
        raise FilterError(f"Failed to JSON.parse FQL intermediate representation {ir!r}: {error}") from None
    result = evaluate(tree, event)
    return result if isinstance(result, bool) else False


def evaluate(ir: Any, event: Any) -> Any:
    """One IR node's value: a boolean, or what a function (lowercase, typeof, length) returns."""
    if not isinstance(ir, list):
        return _value(ir, event) is True
    op = ir[0] if ir else UNDEFINED
    if not isinstance(op, str):
        raise FilterError(f"FQL IR could not evaluate for token: {to_string(op)}")

    def arg(i: int) -> Any:
        return _value(ir[i] if i < len(ir) else UNDEFINED, event)

    if op == "!":
        return not truthy(evaluate(ir[1] if len(ir) > 1 else UNDEFINED, event))
    if op == "or":
        return any(truthy(evaluate(item, event)) for item in ir[1:])
    if op == "and":
        return all(truthy(evaluate(item, event)) for item in ir[1:])
    if op in ("=", "!="):
        return _compare_items(arg(1), arg(2), op, event)
    if op in _NUMERIC:
        return _compare_numbers(arg(1), arg(2), op, event)
    if op == "in":
        return _in_list(arg(1), arg(2), event)
    if op == "contains":
        first, second = arg(1), arg(2)
        return isinstance(first, str) and isinstance(second, str) and units(second) in units(first)
    if op == "match":
        text, pattern = arg(1), arg(2)
        return isinstance(text, str) and isinstance(pattern, str) and glob_matches(pattern, text)
    if op == "lowercase":
        target = arg(1)
        return target.lower() if isinstance(target, str) else None
    if op == "typeof":
        return typeof(arg(1))
    if op == "length":
        return _length(arg(1))
    if op == "semver":
        return _semver(arg(1), arg(2), arg(3))
    raise FilterError(f"FQL IR could not evaluate for token: {op}")


def _value(item: Any, event: Any) -> Any:
    """An operand: a list as it is, `{"value": v}` as v, anything else as a path into the event."""
    if isinstance(item, list):
        return item
    if isinstance(item, dict):
        return item.get("value", UNDEFINED)
    if item is None:
        raise FilterError("Cannot read properties of null (reading 'value')")
    return paths.read(event, item)


def _is_ir(value: Any) -> bool:
    """tsub's heuristic: a list shaped like a function call is evaluated, not compared."""
    return (isinstance(value, list) and len(value) > 0 and isinstance(value[0], str)
            and _FUNCTION_ARITY.get(value[0]) == len(value))


def _compare_items(first: Any, second: Any, op: str, event: Any) -> bool:
    if _is_ir(first):
        first = evaluate(first, event)
    if _is_ir(second):
        second = evaluate(second, event)
    if is_object(first) and is_object(second):
        first, second = stringify(first), stringify(second)
    equal = strict_equal(first, second)
    return equal if op == "=" else not equal


def _compare_numbers(first: Any, second: Any, op: str, event: Any) -> bool:
    if _is_ir(first):
        first = evaluate(first, event)
    if _is_ir(second):
        second = evaluate(second, event)
    if not (is_number(first) and is_number(second)):
        return False
    a, b = as_float(first), as_float(second)
    if op == "<=":
        return a <= b
    if op == ">=":
        return a >= b
    if op == "<":
        return a < b
    return a > b


def _in_list(item: Any, candidates: Any, event: Any) -> bool:
    if not isinstance(candidates, list):
        if candidates is None or candidates is UNDEFINED:
            raise FilterError(f"Cannot read properties of {to_string(candidates)} (reading 'find')")
        raise FilterError("list.find is not a function")
    # Each candidate is an operand too: a bare string in the list is a path.
    return any(strict_equal(_value(candidate, event), item) for candidate in list(candidates))


def _length(value: Any) -> Any:
    if value is None:
        return 0
    if isinstance(value, list):
        return len(value)
    if isinstance(value, str):
        return utf16_length(value)
    return math.nan


def _semver(first: Any, op: Any, second: Any) -> bool:
    if not (isinstance(first, str) and isinstance(op, str) and isinstance(second, str)):
        return False
    a, b = _parse_version(first), _parse_version(second)
    if a is None or b is None:
        return False
    cmp = (a > b) - (a < b)
    outcome = {"=": cmp == 0, "!=": cmp != 0, ">": cmp > 0, ">=": cmp >= 0, "<": cmp < 0, "<=": cmp <= 0}
    return outcome.get(op, False)


def _parse_version(text: str) -> Optional[List[float]]:
    """"1.2.3", "1.2" or "2" as [major, minor, patch]; each part read as parseInt reads it."""
    parts = text.split(".")
    if len(parts) > 3:
        return None
    version = [0.0, 0.0, 0.0]
    for i, part in enumerate(parts):
        number = _parse_int(part.strip(JS_SPACE))
        if number is None:
            return None
        version[i] = number
    return version


def _parse_int(text: str) -> Optional[float]:
    """parseInt(text, 10): an optional sign, then the leading ASCII digits; None for NaN."""
    text = text.lstrip(JS_SPACE)
    sign = -1.0 if text[:1] == "-" else 1.0
    if text[:1] in ("-", "+"):
        text = text[1:]
    end = 0
    while end < len(text) and "0" <= text[end] <= "9":
        end += 1
    if end == 0:
        return None
    return sign * as_float(int(text[:end]))
