"""A local stand-in for Statsig's event API, strict where the real one is strict.

    with FakeStatsig(api_keys={"client-test"}) as statsig:
        client = StatsigDestination("client-test", api_url=statsig.url)
        ...
        assert statsig.wait_for_events(3, timeout=5)
        assert [e["eventName"] for e in statsig.events] == [...]

Works without pytest (the demo app embeds one); under pytest use the ``fake_statsig``
fixture, which stops it and surfaces server-side failures after the test.
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterable, List, Optional, Tuple

from werkzeug import Request, Response

from ._server import BodyError, FakeServer, RecordedRequest, decode_body, json_response

__all__ = ["FakeStatsig", "RecordedRequest", "FORBIDDEN_EVENT_NAME_CHARS"]

#: characters whose presence makes Statsig's servers drop an event (DESIGN.md)
FORBIDDEN_EVENT_NAME_CHARS = "\\[]{}<>#=;&$%|\x00\r\n"
_FORBIDDEN = re.compile("[" + re.escape(FORBIDDEN_EVENT_NAME_CHARS) + "]")

EVENT_PATHS = ("/v1/log_event", "/v1/rgstr")


class FakeStatsig(FakeServer):
    """Statsig's event intake on ``127.0.0.1:<free port>``.

    ``api_keys``: None accepts any non-empty key; otherwise the set of keys accepted.
    ``.url`` is the ``api_url`` a client is given (``http://127.0.0.1:PORT/v1``).
    """

    url_suffix = "/v1"

    def __init__(self, api_keys: Optional[Iterable[str]] = None, *, host: str = "127.0.0.1",
                 port: int = 0, quiet: bool = True) -> None:
        self.api_keys = None if api_keys is None else set(api_keys)
        self._events: List[dict] = []
        self._dropped: List[Tuple[dict, str]] = []
        self._offline = False
        super().__init__(host=host, port=port, quiet=quiet)

    def _register(self, server) -> None:
        for path in EVENT_PATHS:
            server.expect_request(path, method="POST").respond_with_handler(self._handle_events)
        server.expect_request("/v1/initialize", method="POST").respond_with_handler(self._handle_initialize)
        server.expect_request("").respond_with_handler(self._handle_unexpected)

    # -- what arrived ------------------------------------------------------------------
    @property
    def events(self) -> List[dict]:
        """Every event the fake accepted (answered 2xx and not dropped), in arrival order."""
        with self._lock:
            return list(self._events)

    @property
    def dropped_events(self) -> List[Tuple[dict, str]]:
        """(event, reason) for events a 2xx request carried but Statsig would discard
        (a name holding one of ``FORBIDDEN_EVENT_NAME_CHARS``)."""
        with self._lock:
            return list(self._dropped)

    @property
    def event_requests(self) -> List[RecordedRequest]:
        """The requests to ``/v1/log_event`` and ``/v1/rgstr`` only."""
        return [r for r in self.requests if r.path in EVENT_PATHS]

    def wait_for_events(self, n: int, timeout: float = 5.0) -> bool:
        """True once at least ``n`` events were accepted, False after ``timeout`` seconds."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self._events) >= n, timeout)

    def _accept(self, events: List[dict]) -> None:
        for e in events:
            bad = _FORBIDDEN.search(e["eventName"])
            if bad:
                self._dropped.append((e, f"eventName holds forbidden character {bad.group()!r}"))
            else:
                self._events.append(e)

    def _clear_state(self) -> None:
        self._events.clear()
        self._dropped.clear()
        self._offline = False

    # -- faults --------------------------------------------------------------------------
    def set_offline(self, offline: bool = True) -> None:
        """While offline every request is answered 503 (nothing accepted)."""
        with self._lock:
            self._offline = bool(offline)

    @property
    def offline(self) -> bool:
        with self._lock:
            return self._offline

    # -- handlers --------------------------------------------------------------------------
    def _key_error(self, key: Optional[str]) -> Optional[str]:
        if not key:
            return "missing API key (STATSIG-API-KEY header or k query parameter)"
        if self.api_keys is not None and key not in self.api_keys:
            return "invalid API key"
        return None

    def _read(self, request: Request, record: RecordedRequest) -> Optional[str]:
        """Fill record.raw/body; return an error text when the body is not usable JSON."""
        try:
            record.raw, record.compressed = decode_body(request)
        except BodyError as e:
            return str(e)
        try:
            record.body = json.loads(record.raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            return f"body is not JSON: {e}"
        return None

    def _handle_events(self, request: Request) -> Response:
        record = self._record(request)
        body_error = self._read(request, record)
        if self.offline:
            record.status, record.fault, record.error = 503, "offline", "fake is offline"
            self._finish(record)
            return json_response(503, {"success": False, "error": "service unavailable (offline)"})
        fault = self._next_fault()
        process = lambda status=None: self._process_events(record, body_error, status)  # noqa: E731
        if fault is not None:
            return self._apply_fault(fault, request, record, process)
        return process()

    def _process_events(self, record: RecordedRequest, body_error: Optional[str],
                        status: Optional[int] = None) -> Response:
        key_error = self._key_error(self._api_key_from(record))
        if key_error:
            return self._refuse(record, 401, key_error)
        if body_error is None:
            body_error = _validate(record.body)
        if body_error:
            return self._refuse(record, 400, body_error)
        record.status = status or 202
        self._finish(record, accepted=record.body["events"])
        return json_response(record.status, {"success": True})

    def _api_key_from(self, record: RecordedRequest) -> Optional[str]:
        return record.headers.get("STATSIG-API-KEY") or record.query.get("k")

    def _refuse(self, record: RecordedRequest, status: int, error: str) -> Response:
        record.status, record.error = status, error
        self._finish(record)
        return json_response(status, {"success": False, "error": error})

    def _handle_initialize(self, request: Request) -> Response:
        # Enough for a client SDK to start: no gates, no configs.
        record = self._record(request)
        self._read(request, record)
        if self.offline:
            return self._refuse(record, 503, "fake is offline")
        key_error = self._key_error(self._api_key_from(record))
        if key_error:
            return self._refuse(record, 401, key_error)
        record.status = 200
        self._finish(record)
        return json_response(200, {"feature_gates": {}, "dynamic_configs": {}, "layer_configs": {},
                                   "has_updates": True, "hash_used": "djb2", "time": 0})

    def _handle_unexpected(self, request: Request) -> Response:
        record = self._record(request)
        self._read(request, record)
        self.httpserver.add_assertion(
            f"FakeStatsig: unexpected {request.method} {request.path} (it serves POST "
            f"{', '.join(EVENT_PATHS)} and /v1/initialize)")
        return self._refuse(record, 404, f"no route for {request.method} {request.path}")


def _validate(body: Any) -> Optional[str]:
    """What a strict intake refuses with 400; None when the body is acceptable."""
    if not isinstance(body, dict):
        return "body must be a JSON object"
    events = body.get("events")
    if not isinstance(events, list):
        return "body must hold an 'events' list"
    for i, e in enumerate(events):
        if not isinstance(e, dict):
            return f"events[{i}] must be an object"
        name = e.get("eventName")
        if not isinstance(name, str) or not name:
            return f"events[{i}].eventName must be a non-empty string"
    return None
