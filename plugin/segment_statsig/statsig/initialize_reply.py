"""Statsig's client initialize reply: how names are hashed in it, what makes it usable,
and where one gate, config or layer sits in it."""
from __future__ import annotations

import base64
import hashlib
import json
import logging

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, Optional

log = logging.getLogger("segment_statsig")

SECTIONS = {"gate": "feature_gates", "config": "dynamic_configs", "layer": "layer_configs"}


def djb2(text: str) -> str:
    """Statsig's name hash (``hash: "djb2"``): 32-bit djb2 over UTF-16 code units,
    starting from 0, as an unsigned decimal string."""
    data = text.encode("utf-16-le")
    h = 0
    for i in range(0, len(data), 2):
        h = ((h << 5) - h + (data[i] | (data[i + 1] << 8))) & 0xFFFFFFFF
    return str(h)


def sha256_name(text: str) -> str:
    """The older ``hash: "sha256"`` form: base64 of the SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def hash_name(name: str, algorithm: str) -> str:
    if algorithm == "djb2":
        return djb2(name)
    if algorithm == "sha256":
        return sha256_name(name)
    return name


class MalformedReply(ValueError):
    """An initialize reply that cannot be used."""


# Deeper than this, a reply is damage: no Statsig value nests so far, and a check on the
# app's thread (which hashes a config's value for its exposure) must never meet one.
MAX_DEPTH = 100

# The fields of a gate, config or layer that the store reads besides its value, and what
# each must be; one of another type is dropped (as if absent) and the reply still used.
_TEXT_FIELDS = ("rule_id", "group_name", "id_type", "allocated_experiment_name")
_EXPOSURE_FIELDS = ("secondary_exposures", "undelegated_secondary_exposures")


def parse_reply(text: str) -> Dict[str, Any]:
    """The initialize reply as a dict, or MalformedReply saying why. ``{"has_updates":
    false}`` is valid (nothing changed)."""
    try:
        body = json.loads(text)
    except RecursionError:
        raise MalformedReply("nested too deeply to read") from None
    except ValueError as error:
        raise MalformedReply(f"not JSON ({error})") from None
    return check_reply(body)


def check_reply(body: Any) -> Dict[str, Any]:
    """`body` (a decoded reply) with every field the store reads of its type, or
    MalformedReply saying why it cannot be used. A gate's, config's or layer's other
    fields of a wrong type are dropped, with one warning naming them."""
    if not isinstance(body, dict):
        raise MalformedReply(f"a JSON {type(body).__name__}, not an object")
    if _deeper_than(body, MAX_DEPTH):
        raise MalformedReply(f"nested deeper than {MAX_DEPTH} levels")
    if body.get("has_updates") is False:
        return body
    for section in SECTIONS.values():
        block = body.get(section)
        if not isinstance(block, dict):
            raise MalformedReply(f"{section!r} is missing or not an object")
        for name, spec in block.items():
            if not isinstance(spec, dict):
                raise MalformedReply(f"{section}[{name!r}] is not an object")
    for name, spec in body["feature_gates"].items():
        if not isinstance(spec.get("value"), bool):
            raise MalformedReply(f"feature_gates[{name!r}].value is not a boolean")
    for section in ("dynamic_configs", "layer_configs"):
        for name, spec in body[section].items():
            if not isinstance(spec.get("value"), dict):
                raise MalformedReply(f"{section}[{name!r}].value is not an object")
    if body.get("hash_used", "djb2") not in ("djb2", "sha256", "none"):
        raise MalformedReply(f"unknown hash_used {body.get('hash_used')!r}")
    dropped: Dict[str, int] = {}
    time = body.get("time")
    if time is not None and (type(time) is not int or time < 0):
        del body["time"]
        dropped["time"] = 1
    for section in SECTIONS.values():
        for spec in body[section].values():
            _check_fields(spec, dropped)
    if dropped:
        log.warning("Statsig values: ignoring fields of the wrong type in the initialize reply: %s",
                    ", ".join(f"{field} ({count})" for field, count in sorted(dropped.items())))
    return body


def _check_fields(spec: Dict[str, Any], dropped: Dict[str, int]) -> None:
    """Drop (in place) the fields of `spec` the store reads that are not of their type;
    count them in `dropped`. Lists keep the items of the right type."""
    for field in (*_TEXT_FIELDS, "explicit_parameters", *_EXPOSURE_FIELDS):
        value = spec.get(field)
        if value is None:
            continue
        if field in _TEXT_FIELDS:
            if isinstance(value, str):
                continue
            del spec[field]
        elif not isinstance(value, list):
            del spec[field]
        else:
            kept = [item for item in value if _fits(field, item)]
            if len(kept) == len(value):
                continue
            spec[field] = kept
        dropped[field] = dropped.get(field, 0) + 1


def _fits(field: str, item: Any) -> bool:
    """An item of a list field: a parameter name, or a secondary exposure (an object of
    strings, as {"gate", "gateValue", "ruleID"})."""
    if field == "explicit_parameters":
        return isinstance(item, str)
    return isinstance(item, dict) and all(isinstance(v, str) for v in item.values())


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether `value` nests lists and objects more than `limit` levels (without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def lookup(values: Optional[Dict[str, Any]], kind: str, name: str) -> Optional[Dict[str, Any]]:
    """The spec of gate / config / layer `name` in a parsed reply, or None."""
    if not values:
        return None
    block = values.get(SECTIONS[kind]) or {}
    spec = block.get(hash_name(name, values.get("hash_used", "djb2")))
    if spec is None:
        spec = block.get(name)
    return spec if isinstance(spec, dict) else None
