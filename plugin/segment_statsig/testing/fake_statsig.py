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

import base64
import hashlib
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
        self._gates: dict = {}
        self._configs: dict = {}
        self._initialize_answers: List[Tuple[int, str]] = []
        #: the ``time`` of initialize replies (Statsig: when the config last changed)
        self.config_time = 1714564800000
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
        self._initialize_answers.clear()

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
        """Evaluates the configured gates, configs and experiments for the request's user
        and answers as Statsig's client initialize does (names hashed per ``hash``)."""
        record = self._record(request)
        body_error = self._read(request, record)
        if self.offline:
            return self._refuse(record, 503, "fake is offline")
        key_error = self._key_error(self._api_key_from(record))
        if key_error:
            return self._refuse(record, 401, key_error)
        with self._lock:
            canned = self._initialize_answers.pop(0) if self._initialize_answers else None
        if canned is not None:
            record.status, record.fault = canned[0], "canned initialize answer"
            self._finish(record)
            return Response(canned[1], status=canned[0], content_type="application/json")
        if body_error:
            return self._refuse(record, 400, body_error)
        body = record.body if isinstance(record.body, dict) else {}
        user = body.get("user") if isinstance(body.get("user"), dict) else {}
        record.status = 200
        self._finish(record)
        return json_response(200, self.evaluate_for(user, body.get("hash", "djb2")))

    # -- gates and experiments ----------------------------------------------------------
    def set_gate(self, name: str, value: Any, *, rule_id: Any = None, id_type: str = "userID",
                 secondary_exposures: Optional[list] = None) -> None:
        """Serve gate ``name``: ``value`` a bool or ``callable(user) -> bool``. ``rule_id``
        (str or callable(user)) defaults to ``"<name>:on"`` when it passes, ``"default"``."""
        with self._lock:
            self._gates[name] = {"value": value, "rule_id": rule_id, "id_type": id_type,
                                 "secondary_exposures": list(secondary_exposures or [])}

    def set_config(self, name: str, value: Any, *, rule_id: Any = None, group_name: Any = None,
                   id_type: str = "userID", secondary_exposures: Optional[list] = None,
                   is_experiment: bool = False) -> None:
        """Serve dynamic config ``name``: ``value`` a dict or ``callable(user) -> dict``;
        ``rule_id`` / ``group_name``: str or callable(user)."""
        with self._lock:
            self._configs[name] = {"value": value, "rule_id": rule_id, "group_name": group_name,
                                   "id_type": id_type, "is_experiment": is_experiment,
                                   "secondary_exposures": list(secondary_exposures or [])}

    def set_experiment(self, name: str, value: Any, *, group_name: Any = None, rule_id: Any = None,
                       id_type: str = "userID", secondary_exposures: Optional[list] = None) -> None:
        """An experiment: a dynamic config with a group. ``value`` may also be a callable
        returning ``(group_name, dict)``."""
        self.set_config(name, value, rule_id=rule_id, group_name=group_name, id_type=id_type,
                        secondary_exposures=secondary_exposures, is_experiment=True)

    def remove(self, name: str) -> None:
        """Stop serving gate or config ``name``."""
        with self._lock:
            self._gates.pop(name, None)
            self._configs.pop(name, None)

    def answer_next_initialize(self, body: Any, status: int = 200, times: int = 1) -> None:
        """Answer the next ``times`` initialize requests with ``body`` (a str sent as is,
        anything else as JSON) and ``status``: e.g. a malformed reply."""
        text = body if isinstance(body, str) else json.dumps(body)
        with self._lock:
            self._initialize_answers.extend([(int(status), text)] * times)

    @property
    def initialize_requests(self) -> List[RecordedRequest]:
        return [r for r in self.requests if r.path == "/v1/initialize"]

    def evaluate_for(self, user: dict, hash_used: str = "djb2") -> dict:
        """The initialize response this fake gives ``user``."""
        if hash_used not in ("djb2", "sha256", "none"):
            hash_used = "djb2"
        with self._lock:
            gates, configs = dict(self._gates), dict(self._configs)
        out = {"feature_gates": {}, "dynamic_configs": {}, "layer_configs": {}, "sdkParams": {},
               "has_updates": True, "time": self.config_time, "hash_used": hash_used}
        for name, spec in gates.items():
            value = bool(_resolve(spec["value"], user))
            rule = _resolve(spec["rule_id"], user)
            hashed = _hash(name, hash_used)
            out["feature_gates"][hashed] = {
                "name": hashed, "value": value, "rule_id": rule if rule is not None else
                (f"{name}:on" if value else "default"),
                "id_type": spec["id_type"], "secondary_exposures": spec["secondary_exposures"]}
        for name, spec in configs.items():
            value = _resolve(spec["value"], user)
            group = _resolve(spec["group_name"], user)
            if isinstance(value, tuple):
                group, value = value
            rule = _resolve(spec["rule_id"], user)
            hashed = _hash(name, hash_used)
            entry = {"name": hashed, "value": dict(value or {}),
                     "rule_id": rule if rule is not None else (f"{name}:{group}" if group else "default"),
                     "group": rule if rule is not None else (f"{name}:{group}" if group else "default"),
                     "is_device_based": spec["id_type"] == "stableID", "id_type": spec["id_type"],
                     "secondary_exposures": spec["secondary_exposures"]}
            if spec["is_experiment"]:
                entry.update({"is_experiment_active": True, "is_user_in_experiment": group is not None})
            if group is not None:
                entry["group_name"] = group
            out["dynamic_configs"][hashed] = entry
        return out

    def _handle_unexpected(self, request: Request) -> Response:
        record = self._record(request)
        self._read(request, record)
        self.httpserver.add_assertion(
            f"FakeStatsig: unexpected {request.method} {request.path} (it serves POST "
            f"{', '.join(EVENT_PATHS)} and /v1/initialize)")
        return self._refuse(record, 404, f"no route for {request.method} {request.path}")


def _resolve(value: Any, user: dict) -> Any:
    return value(user) if callable(value) else value


def djb2(text: str) -> str:
    """Statsig's djb2 name hash (UTF-16 code units, from 0, unsigned 32-bit, decimal)."""
    data = text.encode("utf-16-le")
    h = 0
    for i in range(0, len(data), 2):
        h = (h * 31 + (data[i] | data[i + 1] << 8)) & 0xFFFFFFFF
    return str(h)


def _hash(name: str, algorithm: str) -> str:
    if algorithm == "djb2":
        return djb2(name)
    if algorithm == "sha256":
        return base64.b64encode(hashlib.sha256(name.encode("utf-8")).digest()).decode("ascii")
    return name


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
