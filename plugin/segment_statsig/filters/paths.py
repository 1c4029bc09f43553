"""Dotted paths into an event, read, written and removed exactly as tsub's helpers do:
`dlv` (read), `dset` (write) and tsub's own `unset` (remove).

- read: `"properties.items.0.name"` walks dicts, list indexes and string indexes; a falsy
  value on the way (0, "", false, null) ends the walk with undefined. A path that is not
  a string is used as it is: a list is taken as the list of keys, anything else without
  a `length` (a number, a boolean, an object) reads the whole event.
- write: creates what is missing on the way ({} or, when the next key is numeric, []),
  replaces a string or number on the way by a new container, keeps null on the way (and
  then throws), and stops silently at `__proto__`, `constructor` or `prototype`.
- remove: only when the value read there is truthy; `a\\.b` names the key "a.b".
"""
from __future__ import annotations

import math

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, List

from .jsobjects import delete as delete_key
from .jsobjects import get, set_
from .jsvalues import UNDEFINED, FilterError, JsArray, is_object, to_number, to_string, truthy

_STOP = ("__proto__", "constructor", "prototype")


def read(obj: Any, path: Any) -> Any:
    """dlv(obj, path)."""
    if isinstance(path, str):
        steps: Any = path.split(".")
    elif path is None or path is UNDEFINED:
        raise FilterError(f"Cannot read properties of {to_string(path)} (reading 'split')")
    else:
        steps = path
    count = len(steps) if isinstance(steps, list) else _length(steps)
    p = 0
    while p < count and obj is not UNDEFINED:
        key = steps[p] if isinstance(steps, list) else get(steps, str(p))
        obj = get(obj, to_string(key)) if truthy(obj) else UNDEFINED
        p += 1
    return obj


def _length(steps: Any) -> float:
    """`key.length` of a non-string path (a number or boolean has none: nothing is walked)."""
    if isinstance(steps, dict):
        length = to_number(steps.get("length", UNDEFINED))
        return length if length == length else 0
    return 0


def write(obj: Any, path: str, value: Any) -> None:
    """dset(obj, path, value)."""
    steps = path.split(".")
    target = obj
    for i, key in enumerate(steps):
        if key in _STOP:
            return
        if i == len(steps) - 1:
            child = value
        else:
            child = get(target, key)
            if not is_object(child):
                child = JsArray() if math.isfinite(to_number(steps[i + 1])) else {}
        set_(target, key, child)
        target = child


def remove(obj: Any, path: Any) -> None:
    """tsub's unset(obj, path)."""
    if not truthy(read(obj, path)):
        return
    if not isinstance(path, str):
        raise FilterError("prop.split is not a function")
    steps: List[str] = path.split(".")
    last = steps.pop()
    while steps and steps[-1].endswith("\\"):
        last = steps.pop()[:-1] + "." + last
    for key in steps:
        obj = get(obj, key)
    delete_key(obj, last)
