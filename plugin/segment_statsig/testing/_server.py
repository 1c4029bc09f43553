"""The plumbing both fakes share: a threaded pytest-httpserver on 127.0.0.1, a request
log, a bounded wait, hooks, and the fault queue (statuses, delays, drops, garbage)."""
from __future__ import annotations

import collections
import json
import logging
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Tuple, Type, TypeVar

from pytest_httpserver import HTTPServer
from pytest_httpserver.httpserver import Error as _HttpServerError
from requests.structures import CaseInsensitiveDict
from werkzeug import Request, Response

from ._wire import BodyError, api_key_of, sdk_param, undo_content_encoding

__all__ = ["RecordedRequest", "FakeServer", "json_response", "decode_body", "BodyError"]

_Self = TypeVar("_Self", bound="FakeServer")
Fault = Dict[str, Any]


class _HTTPServer(HTTPServer):
    def thread_target(self) -> None:
        # the default 0.5 s poll makes every stop() cost half a second
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.02)


class _DropConnection(_HttpServerError, ConnectionAbortedError):
    """Raised by a handler after it shut the socket: werkzeug treats a ConnectionError as
    'client went away' (no 500 written), pytest-httpserver re-raises its own Error
    subclasses without recording them as handler errors."""


@dataclass
class RecordedRequest:
    """One request as the fake saw it and answered it, and which transport form it came in."""

    method: str
    path: str
    query: Dict[str, str]
    headers: CaseInsensitiveDict[str]
    raw: bytes  # the body with every transport layer undone (gzip, statsig encoding)
    body: Any = None  # decoded JSON, or None when the body was not JSON
    status: Optional[int] = None  # what the fake answered; None: no answer (dropped, client gone)
    error: Optional[str] = None  # why the fake refused it, when it did
    fault: Optional[str] = None  # the injected fault that answered it, if any
    compressed: bool = False  # the body came gzip (or deflate) compressed
    compressed_by: Optional[str] = None  # "header" (Content-Encoding) or "query" (gz=1)
    encoded: bool = False  # the body came statsig encoded (se=1)
    received_at: float = field(default_factory=time.time)
    events: List[Dict[str, Any]] = field(default_factory=list)  # the events this request delivered

    @property
    def json(self) -> Any:
        return self.body

    @property
    def endpoint(self) -> str:
        """The last part of the path: ``log_event``, ``rgstr``, ``initialize``, ..."""
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    @property
    def api_key(self) -> Optional[str]:
        """The key, from the ``STATSIG-API-KEY`` header or the query's ``k``."""
        return api_key_of(self.headers, self.query)[0]

    @property
    def key_source(self) -> Optional[str]:
        """Where the key came: ``"header"``, ``"query"`` or None (no key)."""
        return api_key_of(self.headers, self.query)[1]

    @property
    def sdk_type(self) -> Optional[str]:
        return sdk_param("sdk_type", self.headers, self.query)

    @property
    def sdk_version(self) -> Optional[str]:
        return sdk_param("sdk_version", self.headers, self.query)

    @property
    def client_time(self) -> Optional[str]:
        return sdk_param("client_time", self.headers, self.query)

    @property
    def session_id(self) -> Optional[str]:
        return sdk_param("session_id", self.headers, self.query)

    @property
    def event_count(self) -> Optional[str]:
        """The count the client declared (``STATSIG-EVENT-COUNT`` or ``ec``), as sent."""
        return sdk_param("event_count", self.headers, self.query)

    @property
    def form(self) -> Dict[str, Any]:
        """How it travelled, in one dict: endpoint, key source, compression, encoding."""
        return {"endpoint": self.endpoint, "key_source": self.key_source,
                "compressed_by": self.compressed_by, "encoded": self.encoded,
                "content_type": self.headers.get("Content-Type")}

    def as_dict(self) -> Dict[str, Any]:
        return {
            "method": self.method, "path": self.path, "query": dict(self.query),
            "headers": dict(self.headers), "body": self.body, "status": self.status,
            "error": self.error, "fault": self.fault, "compressed": self.compressed,
            "compressed_by": self.compressed_by, "encoded": self.encoded, "key_source": self.key_source,
        }


def json_response(status: int, payload: Any, headers: Optional[Dict[str, str]] = None) -> Response:
    return Response(json.dumps(payload), status=status, headers=headers or {},
                    content_type="application/json")


def decode_body(request: Request) -> Tuple[bytes, bool]:
    """(bytes, compressed) with Content-Encoding undone; BodyError on a broken body."""
    data = request.get_data(cache=True)
    encoding = request.headers.get("Content-Encoding") or ""
    return undo_content_encoding(data, encoding), encoding.strip().lower() not in ("", "identity")


class FakeServer:
    """A pytest-httpserver HTTPServer (threaded, so a slow answer does not block the
    next request) plus what both fakes need. Usable with or without pytest."""

    #: the path prefix the ``url`` property appends
    url_suffix = ""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, quiet: bool = True) -> None:
        self.httpserver = _HTTPServer(host=host, port=port, threaded=True)
        self._lock = threading.Condition()
        self._requests: List[RecordedRequest] = []
        self._faults: Deque[Fault] = collections.deque()
        self._callbacks: List[Callable[[RecordedRequest], None]] = []
        self._stopping = threading.Event()
        if quiet:
            _quiet_werkzeug()
        self._register(self.httpserver)

    # -- lifecycle ---------------------------------------------------------------------
    def _register(self, server: HTTPServer) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def start(self: _Self) -> _Self:
        if not self.httpserver.is_running():
            self._stopping.clear()
            self.httpserver.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes delayed answers so shutdown is quick
        if self.httpserver.is_running():
            self.httpserver.stop()

    def __enter__(self: _Self) -> _Self:
        return self.start()

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.stop()

    @property
    def is_running(self) -> bool:
        return self.httpserver.is_running()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        if not self.httpserver.is_running():
            raise RuntimeError(f"{type(self).__name__} is not started: call .start() first")
        return self.httpserver.url_for("/").rstrip("/")

    @property
    def url(self) -> str:
        return self.base_url + self.url_suffix

    # -- what arrived ----------------------------------------------------------------
    @property
    def requests(self) -> List[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> bool:
        """True once at least ``n`` requests were answered (or dropped), False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self._requests) >= n, timeout)

    def on_request(self, callback: Callable[[RecordedRequest], None]) -> None:
        """Call ``callback(record)`` after each request, on the server's thread."""
        self._callbacks.append(callback)

    def check_assertions(self) -> None:
        """Raise the first server-side problem (unexpected request, handler crash)."""
        self.httpserver.check_assertions()
        self.httpserver.check_handler_errors()

    def clear_assertions(self) -> None:
        self.httpserver.clear_assertions()
        self.httpserver.clear_handler_errors()

    def clear(self) -> None:
        """Forget what arrived and any pending fault (the server keeps running)."""
        with self._lock:
            self._requests.clear()
            self._faults.clear()
            self._clear_state()
        self.clear_assertions()

    def _clear_state(self) -> None:
        pass

    # -- faults ------------------------------------------------------------------------
    def respond_with_statuses(self, statuses: Iterable[int], retry_after: Optional[float] = None) -> None:
        """Answer the next requests with these statuses in turn, then normally. A 2xx in
        the list means 'process normally, answer with this status'; any other status
        refuses the request (its events are not accepted). ``retry_after`` (seconds) is
        sent as ``Retry-After`` with every non-2xx status of this sequence."""
        with self._lock:
            for s in statuses:
                self._faults.append({"kind": "status", "status": int(s), "retry_after": retry_after})

    def delay_next(self, seconds: float, status: Optional[int] = None) -> None:
        """Answer the next request only after ``seconds`` (use more than the client's
        timeout). If the client hung up meanwhile, nothing is accepted and the record's
        status is None; otherwise it is answered normally (or with ``status``)."""
        with self._lock:
            self._faults.append({"kind": "delay", "seconds": float(seconds), "status": status})

    def drop_next_connection(self) -> None:
        """Close the next request's socket without writing any answer."""
        with self._lock:
            self._faults.append({"kind": "drop"})

    def answer_non_json_next(self) -> None:
        """Answer the next request 200 with a body that is not JSON (nothing accepted)."""
        with self._lock:
            self._faults.append({"kind": "non_json"})

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    def wait_for_faults_used(self, timeout: float = 5.0) -> bool:
        """True once every queued fault has been taken by a request."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._faults, timeout)

    def _next_fault(self) -> Optional[Fault]:
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
            self._lock.notify_all()
            return fault

    # -- shared handler helpers ---------------------------------------------------------
    def _record(self, request: Request) -> RecordedRequest:
        return RecordedRequest(
            method=request.method, path=request.path,
            query={k: v for k, v in request.args.items()},
            headers=CaseInsensitiveDict(dict(request.headers.items())), raw=b"",
        )

    def _finish(self, record: RecordedRequest, accepted: Optional[List[Dict[str, Any]]] = None) -> None:
        with self._lock:
            self._requests.append(record)
            if accepted:
                record.events = list(accepted)
                self._accept(accepted)
            self._lock.notify_all()
        for cb in list(self._callbacks):
            try:
                cb(record)
            except Exception as e:  # a broken hook must not break the server
                self.httpserver.add_assertion(f"on_request callback {cb!r} raised {e!r}")

    def _accept(self, events: List[Dict[str, Any]]) -> None:  # called with the lock held
        pass

    def _apply_fault(self, fault: Fault, request: Request, record: RecordedRequest,
                     process: Callable[[Optional[int]], Response]) -> Response:
        """Answer ``request`` as ``fault`` says; ``process(status)`` is the normal path."""
        kind = fault["kind"]
        record.fault = kind if kind != "status" else f"status {fault['status']}"
        if kind == "status":
            status = fault["status"]
            if 200 <= status < 300:
                return process(status)
            headers = {}
            if fault.get("retry_after") is not None and status not in (401, 403):
                headers["Retry-After"] = str(fault["retry_after"])
            record.status, record.error = status, "injected fault"
            self._finish(record)
            return json_response(status, {"success": False, "error": f"injected {status}"}, headers)
        if kind == "drop":
            self._finish(record)
            _shut(request)
            raise _DropConnection("fake server dropped the connection on purpose")
        if kind == "non_json":
            record.status, record.error = 200, "answered with a non-JSON body"
            self._finish(record)
            return Response("<html><body>upstream proxy says hello</body></html>", status=200,
                            content_type="text/html")
        if kind == "delay":
            self._stopping.wait(fault["seconds"])
            if _client_gone(request):
                record.error = "client closed the connection before the delayed answer"
                self._finish(record)
                _shut(request)
                raise _DropConnection("client went away while the fake was delaying")
            return process(fault.get("status"))
        raise ValueError(f"unknown fault {fault!r}")  # pragma: no cover


def _socket_of(request: Request) -> Optional[socket.socket]:
    return request.environ.get("werkzeug.socket")


def _shut(request: Request) -> None:
    sock = _socket_of(request)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _client_gone(request: Request) -> bool:
    """True when the peer closed its end (readable with zero bytes pending)."""
    sock = _socket_of(request)
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _quiet_werkzeug() -> None:
    # werkzeug logs every request at INFO to stderr when nobody configured its logger;
    # a fake embedded in an app or a test run should stay silent unless asked.
    log = logging.getLogger("werkzeug")
    if log.level == logging.NOTSET:
        log.setLevel(logging.WARNING)
