"""A Segment event -> the Statsig event it becomes.

Names: track -> `segment_track:<event>`, screen -> `segment_screen:<name>`,
page -> `segment_page:<name>`. A page or screen without a name becomes the bare
prefix (`segment_page`, `segment_screen`); its category goes to metadata `category`
(a property of that name wins), never into the name, so one screen aggregates
across categories.

Limits, each with a warning naming the event (nothing is dropped silently):
- A character Statsig's servers refuse in a name (\\ [ ] { } < > # = ; & $ % |, NUL,
  CR, LF) becomes `_`; a name over 64 characters is cut to 64. When the name changed,
  metadata `segment_event_name` keeps the original (cut to 256 characters).
- Metadata over 4,096 characters (as JSON) is trimmed, longest values first, and
  marked `statsig_metadata_truncated: "true"`.

value: `properties.value` when it is a string or a finite number, else
`properties.revenue` under the same rule, else absent. It also stays in metadata.
metadata: every property as a string: text as is, true/false, numbers as JSON writes
them, lists and objects as compact JSON; null properties are left out. The reserved
properties below are not repeated in metadata.
- statsigCustomIDs: ["companyID", "c-7", ...] pairs -> user.customIDs.
- statsigCustom: ["plan", "pro", ...] pairs -> user.custom.
- statsigEnvironment: {"tier": "staging"} -> user.statsigEnvironment.
A malformed reserved property is ignored with a warning; the event is kept.
"""
from __future__ import annotations

import logging
import math
import re

from ..analytics.events import unix_ms
from ..analytics.jsonsafe import compact_text
from .user import build_user, cut_id

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

    from .._typing import Event

log = logging.getLogger("segment_statsig")

PREFIXES = {"track": "segment_track", "screen": "segment_screen", "page": "segment_page"}
NAME_LIMIT = 64
METADATA_LIMIT = 4096
_FORBIDDEN = re.compile(r"[\\\[\]{}<>#=;&$%|\x00\r\n]")
_RESERVED = frozenset({"statsigCustomIDs", "statsigCustom", "statsigEnvironment"})
_TRUNCATED = "statsig_metadata_truncated"
_ORIGINAL_NAME = "segment_event_name"
_compact = compact_text


def _clean_text(text: str) -> str:
    # Lone surrogates cannot be sent as UTF-8.
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")


_clean_names: Dict[Tuple[str, str], str] = {}  # (prefix, name) -> full name, for names that needed no change


def event_name(event: Event) -> Tuple[str, Optional[str]]:
    """(Statsig eventName, the original name when it had to change, else None)."""
    prefix = PREFIXES[event["type"]]
    base = event.get("event") if event["type"] == "track" else event.get("name")
    if not isinstance(base, str) or not base:
        return prefix, None
    known = _clean_names.get((prefix, base))
    if known is not None:  # apps use a few names over and over
        return known, None
    full = f"{prefix}:{base}"
    name = _clean_text(full)
    if _FORBIDDEN.search(name):
        name = _FORBIDDEN.sub("_", name)
        log.warning("Statsig: event %r has characters Statsig refuses in names; sent as %r", base, name[:NAME_LIMIT])
    if len(name) > NAME_LIMIT:
        name = name[:NAME_LIMIT]
        log.warning("Statsig: event name %r is over %d characters; cut to %r", full, NAME_LIMIT, name)
    if name == full:
        if len(_clean_names) >= 1024:
            _clean_names.clear()
        _clean_names[(prefix, base)] = name
        return name, None
    return name, full


def _number_or_text(value: Any) -> Union[int, float, str, None]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return value
    return None


def _metadata_value(value: Any) -> str:
    if isinstance(value, str):
        return _clean_text(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):  # finite: the journal's JSON held no NaN
        return repr(value)
    return _clean_text(_compact(value))


def _pairs(value: Any, name: str, event_label: str) -> List[Tuple[str, Any]]:
    if (isinstance(value, list) and len(value) % 2 == 0
            and all(isinstance(key, str) and key for key in value[0::2])):
        return list(zip(value[0::2], value[1::2]))
    log.warning("Statsig: %s of event %r is not a flat [name, value, ...] array; ignored", name, event_label)
    return []


def fit_metadata(metadata: Dict[str, str], event_label: str) -> Dict[str, str]:
    """Trim the longest values until the metadata's JSON fits METADATA_LIMIT. Linear in
    the metadata's size: each value is encoded once and the total kept by arithmetic,
    so an event with 20,000 properties costs milliseconds, not minutes."""
    # JSON escaping at most sextuples a character: below that bound, skip the encoding.
    if 6 * (sum(map(len, metadata)) + sum(map(len, metadata.values())) + 6 * len(metadata)) <= METADATA_LIMIT:
        return metadata
    entry = {key: len(_compact(key)) + 1 + len(_compact(value)) for key, value in metadata.items()}
    size = 1 + sum(entry.values()) + len(entry)  # braces, and a comma or colon between entries
    if size <= METADATA_LIMIT:
        return metadata
    limit = METADATA_LIMIT - len(_compact(_TRUNCATED)) - len(_compact("true")) - 2  # room for the marker
    # The original name (at most 256 characters) is what identifies an event whose name
    # was cut: properties give way to it.
    trimmable = [key for key in metadata if key != _ORIGINAL_NAME]
    for key in sorted(trimmable, key=lambda k: len(metadata[k]), reverse=True):
        excess = size - limit
        if excess <= 0:
            break
        value = metadata[key]
        value = value[:max(0, len(value) - excess - 1)] + "…" if len(value) > excess else ""
        metadata[key] = value
        new_entry = len(_compact(key)) + 1 + len(_compact(value))
        size += new_entry - entry[key]
        entry[key] = new_entry
    while size > limit and trimmable:  # keys alone too long: drop the last ones
        key = trimmable.pop()
        del metadata[key]
        size -= entry.pop(key) + 1
    metadata[_TRUNCATED] = "true"
    log.warning("Statsig: metadata of event %r was over %d characters; trimmed", event_label, METADATA_LIMIT)
    return metadata


def user_key(event: Event) -> Tuple[Any, ...]:
    """What the Statsig user of an event depends on, besides the traits."""
    context = event.get("context") or {}
    app = context.get("app")
    location = context.get("location")
    return (event.get("userId"), event.get("anonymousId"), context.get("ip"), context.get("userAgent"),
            context.get("locale"), app.get("version") if isinstance(app, dict) else None,
            location.get("country") if isinstance(location, dict) else None)


def to_statsig_event(event: Event, traits: Mapping[str, Any], user: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The Statsig event dict for a track/screen/page Segment event. `user`, when
    given, is the prebuilt user of this event; it is copied before any change."""
    name, original = event_name(event)
    label = original or name
    properties = event.get("properties") or {}
    if user is None:
        user = build_user(event.get("userId"), event.get("anonymousId"), traits, event.get("context") or {})
    reserved = not _RESERVED.isdisjoint(properties)
    if reserved:
        user = {**user, "customIDs": dict(user["customIDs"]), "custom": dict(user.get("custom") or {})}
        if not user["custom"]:
            del user["custom"]

    metadata: Dict[str, str] = {}
    for key, value in properties.items():
        if value.__class__ is str and not reserved:  # the common case, inline
            metadata[key] = value if value.isascii() else _clean_text(value)
        elif value is not None and not (reserved and key in _RESERVED):
            metadata[key] = _metadata_value(value)
    category = event.get("category")
    if isinstance(category, str) and "category" not in metadata:
        metadata["category"] = category
    if original is not None:
        metadata["segment_event_name"] = original[:256]

    if reserved and "statsigCustomIDs" in properties:
        for key, value in _pairs(properties["statsigCustomIDs"], "statsigCustomIDs", label):
            user["customIDs"][key] = cut_id(value)
    if reserved and "statsigCustom" in properties:
        custom = user.setdefault("custom", {})
        for key, value in _pairs(properties["statsigCustom"], "statsigCustom", label):
            custom[key] = value
    if reserved and "statsigEnvironment" in properties:
        environment = properties["statsigEnvironment"]
        if isinstance(environment, dict):
            user["statsigEnvironment"] = {k: v if isinstance(v, str) else compact_text(v) for k, v in environment.items()}
        else:
            log.warning("Statsig: statsigEnvironment of event %r is not an object; ignored", label)

    statsig_event: Dict[str, Any] = {"eventName": name, "user": user, "time": unix_ms(event["timestamp"])}
    if "value" in properties or "revenue" in properties:
        value = _number_or_text(properties.get("value"))
        if value is None:
            value = _number_or_text(properties.get("revenue"))
        if value is not None:
            statsig_event["value"] = value
    statsig_event["metadata"] = fit_metadata(metadata, label)
    return statsig_event
