"""A local stand-in for Statsig's client API, strict where the real one is strict, and
open to every form Statsig's own client SDKs send.

    with FakeStatsig(api_keys={"client-test"}) as statsig:
        client = StatsigDestination("client-test", api_url=statsig.url)
        ...
        assert statsig.wait_for_events(3, timeout=5)
        assert [e["eventName"] for e in statsig.events] == [...]

It serves ``POST /v1/log_event`` and ``/v1/rgstr`` (events), ``/v1/initialize`` (gate,
config, experiment and layer values), ``GET /v1/download_config_specs`` (the same as config
specs, for on-device evaluation; testing/_specs.py) and ``/v1/sdk_exception`` (a client's
reports of its own errors). Each accepts the key in the ``STATSIG-API-KEY`` header or the query's ``k``,
a body gzipped by ``Content-Encoding: gzip`` or by ``gz=1``, statsig encoded (``se=1``),
any content type (``text/plain;charset=UTF-8`` included); see ``_wire.py``. Each
:class:`RecordedRequest` says which form arrived; ``.events`` holds the events whatever it was.

Works without pytest (the demo app embeds one); under pytest use the ``fake_statsig``
fixture, which stops it and surfaces server-side failures after the test.
"""
from __future__ import annotations

import json
import re
from typing import Any, Dict, Iterable, List, Optional, Tuple

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from ._server import FakeServer, RecordedRequest, json_response
from ._specs import config_specs
from ._values import Resolvable, Spec, Values, djb2
from ._wire import BodyError, decode

__all__ = ["FakeStatsig", "RecordedRequest", "FORBIDDEN_EVENT_NAME_CHARS", "djb2"]

#: characters whose presence makes Statsig's servers drop an event (statsig/mapping.py replaces them)
FORBIDDEN_EVENT_NAME_CHARS = "\\[]{}<>#=;&$%|\x00\r\n"
_FORBIDDEN = re.compile("[" + re.escape(FORBIDDEN_EVENT_NAME_CHARS) + "]")

EVENT_PATHS = ("/v1/log_event", "/v1/rgstr")
INITIALIZE_PATH = "/v1/initialize"
CONFIG_SPECS_PATH = "/v1/download_config_specs"
SDK_EXCEPTION_PATH = "/v1/sdk_exception"
Event = Dict[str, Any]


class FakeStatsig(FakeServer):
    """Statsig's client API on ``127.0.0.1:<free port>``.

    ``api_keys``: None accepts any non-empty key; otherwise the set of keys accepted.
    ``.url`` is the ``api_url`` a client is given (``http://127.0.0.1:PORT/v1``).
    """

    url_suffix = "/v1"

    def __init__(self, api_keys: Optional[Iterable[str]] = None, *, host: str = "127.0.0.1",
                 port: int = 0, quiet: bool = True) -> None:
        self.api_keys = None if api_keys is None else set(api_keys)
        self._events: List[Event] = []
        self._dropped: List[Tuple[Event, str]] = []
        self._offline = False
        self._values = Values()
        self._initialize_answers: List[Tuple[int, str]] = []
        self._config_specs: Optional[Dict[str, Any]] = None  # None: made from the configured values
        #: the ``time`` of initialize replies (Statsig: when the config last changed)
        self.config_time = 1714564800000
        #: ``sdk_flags`` of initialize replies, e.g. ``{"enable_log_event_compression": True}``
        self.sdk_flags: Dict[str, bool] = {}
        #: ``derived_fields`` of initialize replies; None: ip (and user_agent) of the request
        self.derived_fields: Optional[Dict[str, Any]] = None
        super().__init__(host=host, port=port, quiet=quiet)

    def _register(self, server: HTTPServer) -> None:
        for path in EVENT_PATHS:
            server.expect_request(path, method="POST").respond_with_handler(self._handle_events)
        server.expect_request(INITIALIZE_PATH, method="POST").respond_with_handler(self._handle_initialize)
        server.expect_request(CONFIG_SPECS_PATH, method="GET").respond_with_handler(self._handle_config_specs)
        server.expect_request(SDK_EXCEPTION_PATH, method="POST").respond_with_handler(self._handle_sdk_exception)
        server.expect_request("").respond_with_handler(self._handle_unexpected)

    # -- what arrived ------------------------------------------------------------------
    @property
    def events(self) -> List[Event]:
        """Every event the fake accepted (answered 2xx and not dropped), in arrival order."""
        with self._lock:
            return list(self._events)

    @property
    def dropped_events(self) -> List[Tuple[Event, str]]:
        """(event, reason) for events a 2xx request carried but Statsig would discard
        (a name holding one of ``FORBIDDEN_EVENT_NAME_CHARS``)."""
        with self._lock:
            return list(self._dropped)

    @property
    def event_requests(self) -> List[RecordedRequest]:
        """The requests to ``/v1/log_event`` and ``/v1/rgstr`` only."""
        return [r for r in self.requests if r.path in EVENT_PATHS]

    @property
    def initialize_requests(self) -> List[RecordedRequest]:
        return [r for r in self.requests if r.path == INITIALIZE_PATH]

    @property
    def config_specs_requests(self) -> List[RecordedRequest]:
        return [r for r in self.requests if r.path == CONFIG_SPECS_PATH]

    @property
    def sdk_exceptions(self) -> List[Any]:
        """The bodies of ``/v1/sdk_exception`` reports: errors a client SDK caught in itself."""
        return [r.body for r in self.requests if r.path == SDK_EXCEPTION_PATH]

    @property
    def refused_requests(self) -> List[RecordedRequest]:
        """Requests the fake refused on their merits (bad key, body, path), not by a fault."""
        return [r for r in self.requests if r.error is not None and r.fault is None]

    def wait_for_events(self, n: int, timeout: float = 5.0) -> bool:
        """True once at least ``n`` events were accepted, False after ``timeout`` seconds."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self._events) >= n, timeout)

    def _accept(self, events: List[Event]) -> None:
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
    def _key_error(self, record: RecordedRequest) -> Optional[str]:
        key = record.api_key
        if not key:
            return "missing API key (STATSIG-API-KEY header or k query parameter)"
        if self.api_keys is not None and key not in self.api_keys:
            return "invalid API key"
        return None

    def _read(self, request: Request, record: RecordedRequest) -> Optional[str]:
        """Fill record.raw/body and its form; return an error text when the body is not usable JSON."""
        try:
            decoded = decode(request.get_data(cache=True), record.headers, record.query)
        except BodyError as e:
            return str(e)
        record.raw, record.encoded = decoded.raw, decoded.encoded
        record.compressed_by, record.compressed = decoded.compressed_by, decoded.compressed_by is not None
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

        def process(status: Optional[int] = None) -> Response:
            return self._process_events(record, body_error, status)

        if fault is not None:
            return self._apply_fault(fault, request, record, process)
        return process()

    def _process_events(self, record: RecordedRequest, body_error: Optional[str],
                        status: Optional[int] = None) -> Response:
        key_error = self._key_error(record)
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
        return record.api_key  # kept for subclasses written before RecordedRequest.api_key

    def _refuse(self, record: RecordedRequest, status: int, error: str) -> Response:
        record.status, record.error = status, error
        self._finish(record)
        return json_response(status, {"success": False, "error": error})

    def _handle_initialize(self, request: Request) -> Response:
        """Evaluates the configured gates, configs, experiments and layers for the request's
        user and answers as Statsig's client initialize does (names hashed per ``hash``)."""
        record = self._record(request)
        body_error = self._read(request, record)
        if self.offline:
            return self._refuse(record, 503, "fake is offline")
        key_error = self._key_error(record)
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
        body: Dict[str, Any] = record.body if isinstance(record.body, dict) else {}
        found = body.get("user")
        user: Dict[str, Any] = found if isinstance(found, dict) else {}
        derived = self.derived_fields
        if derived is None:
            derived = {"ip": request.remote_addr or "127.0.0.1"}
            if request.headers.get("User-Agent"):
                derived["user_agent"] = request.headers["User-Agent"]
        reply = self._values.reply(user, str(body.get("hash", "djb2")), time=self.config_time,
                                   sdk_key=record.api_key, sdk_flags=self.sdk_flags, derived_fields=derived)
        record.status = 200
        self._finish(record)
        return json_response(200, reply)

    def _handle_config_specs(self, request: Request) -> Response:
        """The config specs (key in the query's ``k``, as Statsig's JS on-device client sends
        it); ``{"has_updates": false}`` to a ``sinceTime`` at or past their ``time``."""
        record = self._record(request)
        if self.offline:
            return self._refuse(record, 503, "fake is offline")
        key_error = self._key_error(record)
        if key_error:
            return self._refuse(record, 401, key_error)
        specs = self.config_specs
        since = record.query.get("sinceTime", "")
        if since.isdigit() and int(since) >= specs.get("time", 0):
            specs = {"has_updates": False}
        record.status = 200
        self._finish(record)
        return json_response(200, specs)

    def _handle_sdk_exception(self, request: Request) -> Response:
        """A client SDK reporting an error it caught in itself: kept, answered as Statsig does."""
        record = self._record(request)
        self._read(request, record)
        record.status = 202
        self._finish(record)
        return json_response(202, {"success": True})

    def _handle_unexpected(self, request: Request) -> Response:
        record = self._record(request)
        self._read(request, record)
        self.httpserver.add_assertion(
            f"FakeStatsig: unexpected {request.method} {request.path} (it serves POST "
            f"{', '.join(EVENT_PATHS)}, {INITIALIZE_PATH}, {SDK_EXCEPTION_PATH}; GET {CONFIG_SPECS_PATH})")
        return self._refuse(record, 404, f"no route for {request.method} {request.path}")

    # -- gates, configs, experiments, layers ----------------------------------------------
    def set_gate(self, name: str, value: Resolvable, *, rule_id: Resolvable = None, id_type: str = "userID",
                 secondary_exposures: Optional[List[Dict[str, str]]] = None) -> None:
        """Serve gate ``name``: ``value`` a bool or ``callable(user) -> bool``. ``rule_id``
        (str or callable(user)) defaults to ``"<name>:on"`` when it passes, ``"default"``."""
        self._values.set_gate(name, Spec(value, rule_id=rule_id, id_type=id_type,
                                         secondary_exposures=list(secondary_exposures or [])))

    def set_config(self, name: str, value: Resolvable, *, rule_id: Resolvable = None,
                   group_name: Resolvable = None, id_type: str = "userID",
                   secondary_exposures: Optional[List[Dict[str, str]]] = None,
                   is_experiment: bool = False) -> None:
        """Serve dynamic config ``name``: ``value`` a dict or ``callable(user) -> dict``;
        ``rule_id`` / ``group_name``: str or callable(user)."""
        self._values.set_config(name, Spec(value, rule_id=rule_id, group_name=group_name, id_type=id_type,
                                           secondary_exposures=list(secondary_exposures or []),
                                           is_experiment=is_experiment))

    def set_experiment(self, name: str, value: Resolvable, *, group_name: Resolvable = None,
                       rule_id: Resolvable = None, id_type: str = "userID",
                       secondary_exposures: Optional[List[Dict[str, str]]] = None) -> None:
        """An experiment: a dynamic config with a group. ``value`` may also be a callable
        returning ``(group_name, dict)``."""
        self.set_config(name, value, rule_id=rule_id, group_name=group_name, id_type=id_type,
                        secondary_exposures=secondary_exposures, is_experiment=True)

    def set_layer(self, name: str, value: Resolvable, *, rule_id: Resolvable = None,
                  group_name: Resolvable = None, allocated_experiment: Resolvable = None,
                  explicit_parameters: Resolvable = None, id_type: str = "userID",
                  secondary_exposures: Optional[List[Dict[str, str]]] = None,
                  undelegated_secondary_exposures: Optional[List[Dict[str, str]]] = None) -> None:
        """Serve layer ``name``: ``value`` a dict of parameters, or ``callable(user)``
        returning one (or ``(group_name, dict)``). ``allocated_experiment``: the experiment
        the user is allocated to in this layer (its name is hashed in the reply, as Statsig
        does); ``explicit_parameters``: the parameters that experiment owns (default: all of
        them when allocated, none otherwise). A read of an explicit parameter exposes the
        experiment with ``secondary_exposures``; any other with
        ``undelegated_secondary_exposures``. Each argument may be a callable(user)."""
        self._values.set_layer(name, Spec(
            value, rule_id=rule_id, group_name=group_name, id_type=id_type,
            allocated_experiment=allocated_experiment, explicit_parameters=explicit_parameters,
            secondary_exposures=list(secondary_exposures or []),
            undelegated_secondary_exposures=list(undelegated_secondary_exposures or [])))

    def set_param_store(self, name: str, parameters: Dict[str, Any]) -> None:
        """Serve parameter store ``name``: ``parameters`` maps each parameter to its
        reference as Statsig's console writes it, e.g. ``{"ref_type": "gate", "param_type":
        "string", "gate_name": "g", "pass_value": "a", "fail_value": "b"}`` (also
        ``static`` with ``value``; ``dynamic_config`` / ``experiment`` / ``layer`` with
        ``config_name`` / ``experiment_name`` / ``layer_name`` and ``param_name``)."""
        self._values.set_param_store(name, parameters)

    def remove(self, name: str) -> None:
        """Stop serving gate, config, layer or parameter store ``name``."""
        self._values.remove(name)

    def set_config_specs(self, specs: Optional[Dict[str, Any]]) -> None:
        """Serve these config specs from download_config_specs (None: specs made from the
        configured gates, configs, experiments and layers, as at the start)."""
        with self._lock:
            self._config_specs = None if specs is None else json.loads(json.dumps(specs))

    @property
    def config_specs(self) -> Dict[str, Any]:
        """The config specs served now."""
        with self._lock:
            specs = self._config_specs
        return specs if specs is not None else config_specs(self._values, self.config_time)

    def answer_next_initialize(self, body: Any, status: int = 200, times: int = 1) -> None:
        """Answer the next ``times`` initialize requests with ``body`` (a str sent as is,
        anything else as JSON) and ``status``: e.g. a malformed reply."""
        text = body if isinstance(body, str) else json.dumps(body)
        with self._lock:
            self._initialize_answers.extend([(int(status), text)] * times)

    def evaluate_for(self, user: Dict[str, Any], hash_used: str = "djb2") -> Dict[str, Any]:
        """The initialize reply this fake gives ``user``."""
        return self._values.reply(user, hash_used, time=self.config_time, sdk_flags=self.sdk_flags,
                                  derived_fields=self.derived_fields or {"ip": "127.0.0.1"})


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

