"""Recordings: the case file format, normalisation of volatile values, secret
scrubbing, and a readable field-by-field diff.

A case file (``recordings/<name>.json``)::

    {
      "name": "track_renamed",
      "description": "what it shows",
      "settings": {"integrations": {"Statsig": {"apiKey": "<API_KEY>"}}},   # or null
      "cdn": {"writeKey": "<WRITE_KEY>", "settings": {...}},                # optional
      "options": {"analytics": {...}, "destination": {...}, "context": {...}},  # optional
      "server": {"statuses": [503], "retry_after": null},                   # optional faults
      "calls": [{"method": "track", "args": {"event": "Login Button Clicked"}}, ...],
      "expected": {"requests": [{"method", "path", "query", "headers", "status", "body"}]}
    }

``<API_KEY>``, ``<SECRET_KEY>`` and ``<WRITE_KEY>`` stand for keys the harness makes up
per run; they are scrubbed back before anything is written. Values JSON lacks are
written as one-key objects (``{"$datetime": "..."}``, see ``TAGS``).
"""
from __future__ import annotations

import base64
import datetime
import decimal
import json
import re
import uuid
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Tuple

if TYPE_CHECKING:
    from ._server import RecordedRequest

# -- values JSON lacks ------------------------------------------------------------------

TAGS: Dict[str, Callable[[Any], Any]] = {
    "$datetime": lambda v: datetime.datetime.fromisoformat(v),
    "$date": lambda v: datetime.date.fromisoformat(v),
    "$decimal": lambda v: decimal.Decimal(v),
    "$bytes": lambda v: base64.b64decode(v),
    "$set": lambda v: set(decode_values(v)),
    "$tuple": lambda v: tuple(decode_values(v)),
    "$float": lambda v: float(v),  # "nan", "inf", "-inf"
    "$uuid": lambda v: uuid.UUID(v),
}


def decode_values(value: Any) -> Any:
    """Turn the tagged objects of a case's call arguments into Python values."""
    if isinstance(value, dict):
        if len(value) == 1:
            (key, inner), = value.items()
            if key in TAGS:
                return TAGS[key](inner)
        return {k: decode_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_values(v) for v in value]
    return value


def expand_calls(calls: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """``{"repeat": n, ...}`` becomes n calls, ``{i}`` in its strings replaced by 0..n-1."""
    out: List[Dict[str, Any]] = []
    for call in calls:
        n = call.get("repeat")
        if n is None:
            out.append(call)
            continue
        template = {k: v for k, v in call.items() if k != "repeat"}
        for i in range(int(n)):
            out.append(_fill(template, i))
    return out


def _fill(value: Any, i: int) -> Any:
    if isinstance(value, str):
        return value.replace("{i}", str(i))
    if isinstance(value, dict):
        return {k: _fill(v, i) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, i) for v in value]
    return value


def substitute(value: Any, mapping: Dict[str, str]) -> Any:
    """Replace placeholders (whole strings or substrings) by their values."""
    if isinstance(value, str):
        for placeholder, real in mapping.items():
            if placeholder in value:
                value = value.replace(placeholder, real)
        return value
    if isinstance(value, dict):
        return {substitute(k, mapping): substitute(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, mapping) for v in value]
    return value


# -- secrets ---------------------------------------------------------------------------

KEY_LOOKING = re.compile(r"(?<![A-Za-z0-9])(?:client|secret)-[A-Za-z0-9]{16,}")


class SecretLeak(RuntimeError):
    """A key-looking string was about to be written."""


def check_no_secrets(text: str, secrets: Iterable[str] = ()) -> None:
    for secret in secrets:
        if secret and secret in text:
            raise SecretLeak("refusing to write: the configured key appears in the output")
    m = KEY_LOOKING.search(text)
    if m:
        raise SecretLeak(f"refusing to write: key-looking string {m.group()[:10]}... in the output")


def pretty(value: Any, indent: int = 0, width: int = 100) -> str:
    """Indented JSON where anything that fits on one line stays on one line."""
    flat = json.dumps(value, ensure_ascii=False)
    if len(flat) + indent <= width or not isinstance(value, (dict, list)) or not value:
        return flat
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {pretty(v, indent + 2, width).lstrip()}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    items = [inner + pretty(v, indent + 2, width).lstrip() for v in value]
    return "[\n" + ",\n".join(items) + "\n" + pad + "]"


def dumps_case(case: Dict[str, Any], secrets: Iterable[str] = ()) -> str:
    text = pretty(case) + "\n"
    check_no_secrets(text, secrets)
    return text


# -- normalisation ---------------------------------------------------------------------

#: the request headers a recording keeps (lower case), and how volatile ones are written
HEADERS = {
    "content-type": None,
    "statsig-api-key": None,  # the run's keys become their placeholders: a wrong key shows
    "statsig-client-time": "<TIME>",
    "statsig-sdk-type": "<SDK_TYPE>",
    "statsig-sdk-version": "<SDK_VERSION>",
    "statsig-event-count": None,
}
QUERY = {"t": "<TIME>", "sid": "<SESSION_ID>", "st": "<SDK_TYPE>", "sv": "<SDK_VERSION>"}
METADATA = {"stableID": "<STABLE_ID>", "sessionID": "<SESSION_ID>", "sdkType": "<SDK_TYPE>",
            "sdkVersion": "<SDK_VERSION>"}
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ID_KINDS = {"stableID": "ANONYMOUS_ID", "segmentAnonymousId": "ANONYMOUS_ID", "anonymousId": "ANONYMOUS_ID"}


class Normaliser:
    """Rewrites one run's requests into their recorded form. Volatile values become
    placeholders; IDs the implementation generated (uuid-shaped, not in the case's
    input) become numbered placeholders, so 'same ID' and 'new ID after reset' still
    show: ``<ANONYMOUS_ID_1>``, ``<ANONYMOUS_ID_2>``."""

    def __init__(self, secrets: Dict[str, str], window_ms: Tuple[int, int],
                 input_strings: Iterable[str] = ()) -> None:
        self.secrets = {real: ph for real, ph in secrets.items() if real}
        self.window_ms = window_ms
        self.input_strings = set(input_strings)
        self.ids: Dict[str, str] = {}
        self.counts: Dict[str, int] = {}

    def request(self, record: RecordedRequest) -> Dict[str, Any]:
        headers = {k.lower(): v for k, v in record.headers.items()}
        out: Dict[str, Any] = {"method": record.method, "path": record.path}
        query = {k: QUERY.get(k, v) for k, v in sorted(record.query.items())}
        if query:
            out["query"] = self._text_tree(query)
        out["headers"] = {name: (ph if ph and name in headers else headers.get(name))
                          for name, ph in HEADERS.items() if name in headers}
        out["headers"] = self._text_tree(out["headers"])
        out["status"] = record.status
        out["body"] = self.body(record.body if record.body is not None else
                                record.raw.decode("utf-8", "replace"))
        return out

    def body(self, body: Any) -> Any:
        if isinstance(body, dict):
            body = dict(body)
            meta = body.get("statsigMetadata")
            if isinstance(meta, dict):
                body["statsigMetadata"] = {k: (METADATA[k] if k in METADATA and v is not None else v)
                                           for k, v in meta.items()}
            events = body.get("events")
            if isinstance(events, list):
                body["events"] = [self.event(e) for e in events]
        return self._text_tree(body)

    def event(self, event: Any) -> Any:
        if not isinstance(event, dict):
            return event
        lo, hi = self.window_ms
        when = event.get("time")
        if isinstance(when, (int, float)) and not isinstance(when, bool) and lo <= when <= hi:
            event = {**event, "time": "<TIME>"}
        metadata = event.get("metadata")
        received = metadata.get("receivedAt") if isinstance(metadata, dict) else None
        if isinstance(received, str) and received.isdigit() and lo <= int(received) <= hi:
            # exposures of Statsig's JS client say when the values arrived, as ms text
            event = {**event, "metadata": {**metadata, "receivedAt": "<TIME>"}}
        return event

    def _text_tree(self, value: Any, key: Optional[str] = None) -> Any:
        if isinstance(value, dict):
            return {k: self._text_tree(value[k], k) for k in sorted(value)}
        if isinstance(value, list):
            return [self._text_tree(v, key) for v in value]
        if isinstance(value, str):
            return self.text(value, key)
        return value

    def text(self, value: str, key: Optional[str] = None) -> str:
        for real, placeholder in self.secrets.items():
            value = value.replace(real, placeholder)
        if key == "messageId" and value not in self.input_strings:
            return "<MESSAGE_ID>"
        if _UUID.match(value) and value not in self.input_strings:
            if value not in self.ids:
                kind = _ID_KINDS.get(key or "", "UUID")
                self.counts[kind] = self.counts.get(kind, 0) + 1
                self.ids[value] = f"<{kind}_{self.counts[kind]}>"
            return self.ids[value]
        return value


def strings_in(value: Any) -> List[str]:
    """Every string (keys and values) inside a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *strings_in(v)]]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


# -- diff ------------------------------------------------------------------------------

_MISSING = object()


def diff(expected: Any, actual: Any, path: str = "") -> List[str]:
    """Readable differences, one line per field: ``path: expected X, got Y``."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in list(expected) + [k for k in actual if k not in expected]:
            sub = f"{path}.{key}" if path else str(key)
            out += diff(expected.get(key, _MISSING), actual.get(key, _MISSING), sub)
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        out = []
        if len(expected) != len(actual):
            out.append(f"{path}: expected {len(expected)} items, got {len(actual)}")
        for i, (e, a) in enumerate(zip(expected, actual)):
            out += diff(e, a, f"{path}[{i}]")
        for i in range(len(actual), len(expected)):
            out.append(f"{path}[{i}]: missing (expected {_show(expected[i])})")
        for i in range(len(expected), len(actual)):
            out.append(f"{path}[{i}]: unexpected {_show(actual[i])}")
        return out
    if expected is _MISSING:
        return [f"{path}: unexpected field, got {_show(actual)}"]
    if actual is _MISSING:
        return [f"{path}: missing (expected {_show(expected)})"]
    if expected == actual and type(expected) is type(actual):
        return []
    return [f"{path}: expected {_show(expected)}, got {_show(actual)}"]


def _show(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + "…"


def events_of(requests: List[Dict[str, Any]]) -> List[Any]:
    """The events of the 2xx requests, flattened, as recorded (``meaning.events_meaning``
    is what ``--events-only`` compares)."""
    out: List[Any] = []
    for r in requests:
        status = r.get("status")
        body = r.get("body")
        if isinstance(status, int) and 200 <= status < 300 and isinstance(body, dict):
            out += body.get("events") or []
    return out
