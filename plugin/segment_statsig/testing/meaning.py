"""What conformance compares: a Statsig request by what it means, apart from the form it
travelled in, so two implementations that tell Statsig the same thing pass the same case.

A recorded request (``Normaliser.request``) becomes::

    {"method", "endpoint", "api_key", "sdk_type", "sdk_version", "client_time", "status", "body"}

- ``endpoint``: ``log_event`` for ``/v1/log_event`` and ``/v1/rgstr`` alike (the same
  intake), else the path's last part (``initialize``);
- ``api_key``, ``sdk_type``, ``sdk_version``, ``client_time``: from the ``STATSIG-*``
  header or the query parameter the JS client uses (``k``, ``st``, ``sv``, ``t``);
- ``body``: the decoded JSON, whatever the compression or encoding was. In it,
  ``statsigMetadata`` keeps the four fields every SDK sends (``stableID``, ``sessionID``,
  ``sdkType``, ``sdkVersion``); an event's ``"value": null`` is no value; initialize's
  caching fields (how a client asks for deltas) are left out; so are the events an SDK
  logs about itself (``SDK_TELEMETRY``), and a request that carried nothing else.

Not compared, as transport: the path's spelling, where the key travelled, gzip by header or
by ``gz=1``, ``se=1``, the content type, the order of query parameters. Compared, as
meaning: every event and each of its fields, the user, the key, the SDK's type/version/time
being present, the status each request was answered, and the batches (unless the case's
rule is not about them: ``merged_batches``). A declared event count (``STATSIG-EVENT-COUNT``
or ``ec``) must match the events the request holds.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

__all__ = ["meaning", "comparable", "by_channel", "count_mismatches", "event_meaning", "events_meaning",
           "merged_batches", "SDK_TELEMETRY"]

Request = Dict[str, Any]
EVENT_ENDPOINTS = ("log_event", "rgstr")
#: events a client SDK logs about itself, not about the app or its user
SDK_TELEMETRY = frozenset({"statsig::diagnostics", "statsig::non_exposed_checks"})
#: the statsigMetadata every Statsig SDK sends (others add their own fields)
METADATA_KEYS = ("stableID", "sessionID", "sdkType", "sdkVersion")
#: initialize fields that say how a client asks (deltas against its cache), not what it asks
INITIALIZE_PROTOCOL = frozenset({"sinceTime", "deltasResponseRequested", "full_checksum",
                                 "previousDerivedFields", "partialUserMatchSinceTime"})
#: meaning field -> (recorded header, query parameter)
SENT_AS = {"api_key": ("statsig-api-key", "k"), "sdk_type": ("statsig-sdk-type", "st"),
           "sdk_version": ("statsig-sdk-version", "sv"), "client_time": ("statsig-client-time", "t")}


def endpoint_of(request: Request) -> str:
    last = str(request.get("path", "")).rstrip("/").rsplit("/", 1)[-1]
    return "log_event" if last in EVENT_ENDPOINTS else last


def _sent(request: Request, header: str, param: str) -> Optional[Any]:
    headers = {str(k).lower(): v for k, v in (request.get("headers") or {}).items()}
    if headers.get(header) is not None:
        return headers[header]
    return (request.get("query") or {}).get(param)


def event_meaning(event: Any) -> Any:
    if isinstance(event, dict) and "value" in event and event["value"] is None:
        return {k: v for k, v in event.items() if k != "value"}
    return event


def _is_telemetry(event: Any) -> bool:
    return isinstance(event, dict) and event.get("eventName") in SDK_TELEMETRY


def _body(endpoint: str, body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    out = dict(body)
    meta = out.get("statsigMetadata")
    if isinstance(meta, dict):
        out["statsigMetadata"] = {k: meta[k] for k in METADATA_KEYS if k in meta}
    if endpoint == "initialize":
        out = {k: v for k, v in out.items() if k not in INITIALIZE_PROTOCOL}
    events = out.get("events")
    if isinstance(events, list):
        out["events"] = [event_meaning(e) for e in events if not _is_telemetry(e)]
    return out


def meaning(request: Request) -> Request:
    """One recorded request as what it means (see the module's text)."""
    endpoint = endpoint_of(request)
    out: Request = {"method": request.get("method"), "endpoint": endpoint}
    for name, (header, param) in SENT_AS.items():
        value = _sent(request, header, param)
        if value is not None:
            out[name] = value
    out["status"] = request.get("status")
    out["body"] = _body(endpoint, request.get("body"))
    return out


def _only_telemetry(request: Request) -> bool:
    body = request.get("body")
    events = body.get("events") if isinstance(body, dict) else None
    return isinstance(events, list) and bool(events) and all(_is_telemetry(e) for e in events)


def by_channel(requests: List[Request]) -> List[Request]:
    """Event requests in their order, then initialize requests in theirs: the two go out
    on different threads, so how they interleave is no part of conformance."""
    return sorted(requests, key=lambda r: endpoint_of(r) == "initialize")


def comparable(requests: List[Request]) -> List[Request]:
    """The requests conformance compares, in the order it compares them: by channel, less
    those that carried only an SDK's reports about itself."""
    return by_channel([r for r in requests if not _only_telemetry(r)])


def count_mismatches(requests: List[Request], label: str = "requests") -> List[str]:
    """One line per request whose declared event count is not the number of its events."""
    out: List[str] = []
    for i, request in enumerate(requests):
        declared = _sent(request, "statsig-event-count", "ec")
        body = request.get("body")
        events = body.get("events") if isinstance(body, dict) else None
        if declared is not None and isinstance(events, list) and str(declared) != str(len(events)):
            out.append(f'{label}[{i}].event_count: expected "{len(events)}" (the events it holds), '
                       f'got "{declared}"')
    return out


def events_meaning(requests: List[Request]) -> List[Any]:
    """The events of the 2xx requests, flattened, by meaning (for ``--events-only``)."""
    out: List[Any] = []
    for r in requests:
        status, body = r.get("status"), r.get("body")
        if isinstance(status, int) and 200 <= status < 300 and isinstance(body, dict):
            out += [event_meaning(e) for e in body.get("events") or [] if not _is_telemetry(e)]
    return out


def _apart_from_events(request: Request) -> Any:
    body = request.get("body")
    if not isinstance(body, dict):
        return None
    return {**request, "body": {k: v for k, v in body.items() if k != "events"}}


def merged_batches(requests: List[Request]) -> List[Request]:
    """Requests by meaning (``meaning()``) with consecutive event requests that agree on all
    but their events made one: the same events, key, SDK fields and status, however they
    were batched (an SDK that flushes at every user change sends what ours sends in one)."""
    out: List[Request] = []
    for request in requests:
        body = request.get("body")
        if out and request.get("endpoint") == "log_event" and isinstance(body, dict) \
                and isinstance(body.get("events"), list) and out[-1].get("endpoint") == "log_event":
            last = out[-1]
            rest = _apart_from_events(request)
            if rest is not None and rest == _apart_from_events(last) and isinstance(last["body"].get("events"), list):
                out[-1] = {**last, "body": {**last["body"], "events": last["body"]["events"] + body["events"]}}
                continue
        out.append(request)
    return out
