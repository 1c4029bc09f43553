"""Statsig's client initialize reply: how names are hashed in it, what makes it usable,
and where one gate, config or layer sits in it."""
from __future__ import annotations

import base64
import hashlib
import json

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, Optional

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


def parse_reply(text: str) -> Dict[str, Any]:
    """The initialize reply as a dict, or MalformedReply saying why. ``{"has_updates":
    false}`` is valid (nothing changed)."""
    try:
        body = json.loads(text)
    except ValueError as error:
        raise MalformedReply(f"not JSON ({error})") from None
    if not isinstance(body, dict):
        raise MalformedReply(f"a JSON {type(body).__name__}, not an object")
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
    return body


def lookup(values: Optional[Dict[str, Any]], kind: str, name: str) -> Optional[Dict[str, Any]]:
    """The spec of gate / config / layer `name` in a parsed reply, or None."""
    if not values:
        return None
    block = values.get(SECTIONS[kind]) or {}
    spec = block.get(hash_name(name, values.get("hash_used", "djb2")))
    if spec is None:
        spec = block.get(name)
    return spec if isinstance(spec, dict) else None
