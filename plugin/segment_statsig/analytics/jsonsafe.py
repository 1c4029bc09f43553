"""JSON for whatever an app passes in.

The rules, applied to properties, traits, context and integrations:
- str, int, finite float, bool, None, dict, list: kept as they are.
- tuple, set, frozenset -> list (sets sorted when their items sort without error).
- datetime, date, time -> ISO-8601 string (`isoformat()`).
- Decimal -> float; UUID, pathlib paths -> str; Enum -> its value; bytes -> UTF-8 text
  (bad bytes become U+FFFD).
- NaN, Infinity, -Infinity -> null, with a warning.
- dict keys that are not strings -> str(key), as `json` does for numbers.
- any other object -> str(obj); if str() raises, repr(obj); if that raises too, the
  value is dropped, with a warning.
- a container that contains itself (a cycle) -> null at the repeat, with a warning.
- nesting deeper than 64 levels -> null below that depth, with a warning.
- a container that cannot be read (its items() or iteration raises) -> null, with a warning.
- an integer too long for Python to write (over 4,300 digits) -> dropped, with a warning.

The fast path is one C-encoder call; the rules above run only when it refuses.
"""
from __future__ import annotations

import collections.abc
import datetime
import decimal
import enum
import json
import logging
import math
import os
import uuid

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable, List, Optional, Set

log = logging.getLogger("segment_statsig")

MAX_DEPTH = 64
_DROP = object()


def _convert(obj: Any) -> Any:
    """The encoder's `default`: turn a known non-JSON type into JSON data."""
    if isinstance(obj, (datetime.datetime, datetime.date, datetime.time)):
        return obj.isoformat()
    if isinstance(obj, decimal.Decimal):
        return float("nan") if obj.is_snan() else float(obj)  # float() refuses a signalling NaN
    if isinstance(obj, (set, frozenset)):
        items = list(obj)
        try:
            return sorted(items)
        except Exception:  # unorderable items, Decimal NaN, an __lt__ that raises
            return items
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj).decode("utf-8", "replace")
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return str(obj)


_encode = json.JSONEncoder(
    default=_convert, allow_nan=False, separators=(",", ":"), check_circular=True
).encode

# The plain encoders, for data this library made and knows to be JSON: `compact` for the
# wire (ASCII); `compact_text` keeps other characters as they are, for JSON that becomes
# text a person reads (a metadata value) or whose characters are counted (Statsig's limits).
compact: Callable[[Any], str] = json.JSONEncoder(separators=(",", ":")).encode
compact_text: Callable[[Any], str] = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

try:
    # The caller's-thread fast path: the C encoder made once, not per call as
    # JSONEncoder.encode does (half the cost of a track()'s encoding). Without a
    # markers dict it keeps no state, so threads may share it; a cycle ends in a
    # RecursionError, which sends the value down the careful path below.
    from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]

    _chunks = c_make_encoder(None, _convert, encode_basestring_ascii, None, ":", ",", False, False, False)

    def _fast(value: Any) -> str:
        return "".join(_chunks(value, 0))
except ImportError:  # a Python without the _json accelerator
    _fast = _encode  # type: ignore[assignment]


def dumps(value: Any, what: str = "event") -> str:
    """Compact JSON text of `value`, after the rules above; never raises. A top-level
    list keeps its length (an item that cannot be written becomes null), so a record's
    fields stay where the reader looks for them."""
    try:
        return _fast(value)
    except Exception:
        notes: List[str] = []
        if type(value) is list:
            clean = [sanitize(item, notes, f"$[{i}]") for i, item in enumerate(value)]
            clean = [None if item is _DROP else item for item in clean]
        else:
            clean = sanitize(value, notes)
        if notes:
            log.warning("%s: %s", what, "; ".join(notes[:5]) + (f" (+{len(notes) - 5} more)" if len(notes) > 5 else ""))
        try:
            return _encode(None if clean is _DROP else clean)
        except Exception as error:  # a value the rules did not foresee: never the caller's problem
            log.warning("%s: could not be written as JSON (%s: %s); sent as null", what, type(error).__name__, error)
            return "null" if type(value) is not list else "[" + ",".join(["null"] * len(value)) + "]"


def sanitize(value: Any, notes: List[str], path: str = "$", depth: int = 0, seen: Optional[Set[int]] = None) -> Any:
    """A JSON-safe copy of `value` (or _DROP), noting every change in `notes`."""
    if value is None or value is True or value is False or isinstance(value, str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        notes.append(f"{path}: {value!r} is not JSON, sent as null")
        return None
    if isinstance(value, int):
        try:
            int.__str__(value)
        except ValueError:
            notes.append(f"{path}: integer too long to write, dropped")
            return _DROP
        return int(value)
    if depth >= MAX_DEPTH:
        notes.append(f"{path}: nested deeper than {MAX_DEPTH} levels, cut to null")
        return None
    seen = seen if seen is not None else set()
    if isinstance(value, (dict, list, tuple, set, frozenset, collections.abc.Mapping)):
        if id(value) in seen:
            notes.append(f"{path}: contains itself, sent as null")
            return None
        seen.add(id(value))
        try:
            try:
                # Read the container whole first: an items() or __iter__ that raises
                # (a broken subclass, a mapping changed meanwhile) costs only this value.
                if isinstance(value, (dict, collections.abc.Mapping)):
                    pairs = list(value.items())
                else:
                    items = _convert(value) if isinstance(value, (set, frozenset)) else list(value)
            except Exception as error:
                notes.append(f"{path}: a {type(value).__name__} that cannot be read ({type(error).__name__}), sent as null")
                return None
            if isinstance(value, (dict, collections.abc.Mapping)):
                out = {}
                for key, item in pairs:
                    key = _key(key)
                    if key is _DROP:
                        notes.append(f"{path}: a key that cannot be written, dropped")
                        continue
                    item = sanitize(item, notes, f"{path}.{key}", depth + 1, seen)
                    if item is not _DROP:
                        out[key] = item
                return out
            listed = [sanitize(item, notes, f"{path}[{i}]", depth + 1, seen) for i, item in enumerate(items)]
            return [item for item in listed if item is not _DROP]
        finally:
            seen.discard(id(value))
    try:
        converted = _convert(value)
    except Exception:
        try:
            converted = repr(value)
        except Exception:
            notes.append(f"{path}: a {type(value).__name__} with no str() or repr(), dropped")
            return _DROP
    return sanitize(converted, notes, path, depth + 1, seen)


def _key(key: Any) -> Any:
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        try:
            return json.dumps(key)
        except (ValueError, TypeError):
            return str(key)
    try:
        return str(key)
    except Exception:
        try:
            return repr(key)
        except Exception:
            return _DROP
