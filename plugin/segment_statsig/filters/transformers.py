"""Transformers: what one step of a destination filter does to an event, as tsub does it.

A step is a list of `{"type", "config"}` run in order on the event:
- `drop`: the event is dropped (None).
- `drop_properties`: `{"drop": {"properties": ["a", "b"]}}` removes those keys from the
  object at each path ("" is the event itself; a list there: from each of its objects).
- `allow_properties`: `{"allow": {"properties": ["a"]}}` keeps only those keys there.
- `sample_event`: `{"sample": {"percent", "path"}}`, see sampling.py.
- `map_properties`: `{"map": {"properties.to": {"copy" | "move": "properties.from"} |
  {"set": value}, "to_string": true?}}`; every read sees the event as it was before this
  map began; `to_string` writes a number, boolean or null as its JSON text.
- `hash_properties`: ignored, as tsub ignores it.
Anything else raises FilterError, as tsub throws.

tsub changes the payload it is given in place; transform() works on its own copy and
leaves the caller's event as it was.
"""
from __future__ import annotations

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional

    from .sampling import Random

from . import paths
from .jsjson import copy as json_roundtrip
from .jsjson import stringify, to_js, to_py
from .jsobjects import delete, entries, for_in, get, has_own, js_items, keys
from .jsvalues import UNDEFINED, FilterError, is_object, to_string, truthy, units
from .sampling import keeps, standard_random


def transform(event: Dict[str, Any], transformers: List[Any], *,
              random: Optional[Random] = None) -> Optional[Dict[str, Any]]:
    """tsub's transform(event, transformers) on a copy: the changed event, or None if dropped.

    `random` gives sample_event's draws in [0, 1) (a generator of the package's own when None)."""
    result = run(to_js(event), transformers, random or standard_random)
    return None if result is None else to_py(result)


def run(payload: Any, transformers: Any, random: Random) -> Any:
    """The transformers on a JavaScript view of an event (see jsjson.to_js), in place."""
    for transformer in _iterate(transformers):
        kind = get(transformer, "type")
        if not isinstance(kind, str):  # tsub's switch compares with ===
            raise FilterError(f'Transformer of type "{to_string(kind)}" is unsupported.')
        if kind == "drop":
            return None
        if kind == "drop_properties":
            _filter_properties(payload, get(get(transformer, "config"), "drop"), _drop)
        elif kind == "allow_properties":
            _filter_properties(payload, get(get(transformer, "config"), "allow"), _allow)
        elif kind == "sample_event":
            if not keeps(payload, get(transformer, "config"), random):
                return None
        elif kind == "map_properties":
            _map_properties(payload, get(transformer, "config"))
        elif kind != "hash_properties":  # hash_properties: not supported by tsub, and ignored
            raise FilterError(f'Transformer of type "{kind}" is unsupported.')
    return payload


def _iterate(transformers: Any) -> List[Any]:
    """What tsub's loop visits (compiled to ES5: an index loop up to `transformers.length`):
    a list's items, a string's UTF-16 code units; nothing for an object or a number."""
    return js_items(transformers)


if TYPE_CHECKING:
    FilterCallback = Callable[[Any, Any], None]


def _filter_properties(payload: Any, rule_set: Any, callback: FilterCallback) -> None:
    """Run the callback on the object at each path (on each object of a list there)."""
    for key, targets in entries(rule_set):
        matched = payload if key == "" else paths.read(payload, key)
        if isinstance(matched, list):
            for i in range(len(matched)):  # forEach: the items there now, holes skipped
                if i < len(matched) and isinstance(matched[i], (dict, list)):
                    callback(matched[i], targets)
        elif isinstance(matched, (dict, list)):
            callback(matched, targets)


def _drop(obj: Any, targets: Any) -> None:
    if not isinstance(targets, list):
        raise FilterError("dropList.forEach is not a function")
    for target in list(targets):
        delete(obj, to_string(target))


def _allow(obj: Any, targets: Any) -> None:
    for key in keys(obj):
        if not _includes(targets, key):
            delete(obj, key)


def _includes(targets: Any, key: str) -> bool:
    """preserveList.includes(key): an item equal to key, or for a string a substring."""
    if isinstance(targets, list):
        return any(isinstance(item, str) and item == key for item in targets)
    if isinstance(targets, str):
        return units(key) in units(targets)
    raise FilterError("preserveList.includes is not a function")


def _map_properties(payload: Any, config: Any) -> None:
    initial = json_roundtrip(payload)  # every read sees the event as it was before the map
    mapping = get(config, "map")
    for key in for_in(mapping):
        action = get(mapping, key)
        steps = key.split(".")
        parent = paths.read(initial, ".".join(steps[:-1])) if len(steps) > 1 else payload
        if not is_object(parent):
            continue
        if truthy(get(action, "copy")):
            value = paths.read(initial, get(action, "copy"))
            if value is not UNDEFINED:
                paths.write(payload, key, value)
        elif truthy(get(action, "move")):
            value = paths.read(initial, get(action, "move"))
            if value is not UNDEFINED:
                paths.write(payload, key, value)
            paths.remove(payload, get(action, "move"))
        elif has_own(action, "set"):
            # tsub puts the rule's own object in the event; a copy keeps our rules unchanged.
            paths.write(payload, key, to_js(get(action, "set")))
        if truthy(get(action, "to_string")):
            value = paths.read(payload, key)
            if isinstance(value, str) or (is_object(value) and value is not None):
                continue
            paths.write(payload, key, "undefined" if value is UNDEFINED else stringify(value))
