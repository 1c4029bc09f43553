"""JSON as JavaScript writes and reads it: JSON.stringify, JSON.parse, and the deep copies
tsub's data goes through (into the JavaScript view of an event, and back out of it).

JSON.stringify's text is what tsub compares objects by (`=` on two objects), hashes
(`sample_event`) and writes (`to_string`), so its details matter: numbers as JavaScript
prints them, keys in JavaScript's order, lone surrogates escaped, undefined left out.
"""
from __future__ import annotations

import json
import math

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable, List, Optional, Set, Type

from .jsobjects import own_keys
from .jsvalues import UNDEFINED, FilterError, JsArray, is_number, number_to_string


def _escape_char(char: str) -> str:
    special = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return special.get(char) or "\\u%04x" % ord(char)


def _needs_escape(char: str) -> bool:
    return char < " " or char in '"\\' or "\ud800" <= char <= "\udfff"


def quote(text: str) -> str:
    """A JSON string literal, as JSON.stringify writes it."""
    if not any(map(_needs_escape, text)):
        return '"' + text + '"'
    out: List[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if "\ud800" <= char <= "\udbff" and i + 1 < n and "\udc00" <= text[i + 1] <= "\udfff":
            out.append((char + text[i + 1]).encode("utf-16-le", "surrogatepass").decode("utf-16-le"))
            i += 2
            continue
        out.append(_escape_char(char) if _needs_escape(char) else char)
        i += 1
    return '"' + "".join(out) + '"'


def stringify(value: Any) -> Optional[str]:
    """JSON.stringify(value); None where JavaScript gives undefined (for undefined itself)."""
    if value is UNDEFINED:
        return None
    out: List[str] = []
    _write(value, out, set())
    return "".join(out)


def _write(value: Any, out: List[str], stack: Set[int]) -> None:
    if isinstance(value, str):
        out.append(quote(value))
    elif value is None or value is UNDEFINED:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif is_number(value):
        out.append(number_to_string(value) if math.isfinite(value) else "null")
    elif isinstance(value, (dict, list)):
        if id(value) in stack:
            raise FilterError("Converting circular structure to JSON")
        stack.add(id(value))
        if isinstance(value, dict):
            out.append("{")
            first = True
            for key in own_keys(value):
                item = value[key]
                if item is UNDEFINED:
                    continue
                if not first:
                    out.append(",")
                first = False
                out.append(quote(key))
                out.append(":")
                _write(item, out, stack)
            out.append("}")
        else:
            out.append("[")
            for i, item in enumerate(value):
                if i:
                    out.append(",")
                _write(item, out, stack)
            out.append("]")
        stack.discard(id(value))
    else:
        raise TypeError(f"not JSON data: {type(value).__name__}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Unexpected token {name}")


def parse(text: str) -> Any:
    """JSON.parse(text); a SyntaxError in JavaScript is a ValueError here."""
    return json.loads(text, parse_constant=_reject_constant)


def copy(value: Any, list_type: Type[List[Any]] = JsArray) -> Any:
    """JSON.parse(JSON.stringify(value)) without the text: holes become null, undefined
    members and named array properties go, non-finite numbers become null, cycles throw."""
    return _copy(value, list_type, True, set())


def _copy(value: Any, list_type: Callable[[Any], List[Any]], as_json: bool, stack: Set[int]) -> Any:
    if isinstance(value, dict):
        if id(value) in stack:
            raise FilterError("Converting circular structure to JSON")
        stack.add(id(value))
        result = {key: _copy(item, list_type, as_json, stack) for key, item in value.items()
                  if item is not UNDEFINED}
        stack.discard(id(value))
        return result
    if isinstance(value, list):
        if id(value) in stack:
            raise FilterError("Converting circular structure to JSON")
        stack.add(id(value))
        items = list_type([None if item is UNDEFINED else _copy(item, list_type, as_json, stack)
                           for item in value])
        stack.discard(id(value))
        return items
    if as_json and isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_js(value: Any) -> Any:
    """The event as tsub's JavaScript holds it, a deep copy a transform may change in place
    (Infinity stays a number: JSON.parse reads 1e400 as Infinity)."""
    return _copy(value, JsArray, False, set())


def to_py(value: Any) -> Any:
    """Plain JSON data again, as the event would leave JavaScript (holes as null)."""
    return copy(value, list)
