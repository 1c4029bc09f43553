"""A local stand-in for Segment's settings CDN and its cloud intake (``/v1/batch``).

    with FakeSegmentCDN({"wk-1": {"integrations": {"Statsig": {"apiKey": "client-..."}}}}) as cdn:
        analytics = Analytics(write_key="wk-1", cdn_url=cdn.url, api_url=cdn.api_url)

``.url`` is the ``cdn_url`` and ``.api_url`` the ``api_url`` a client is given (the same
server answers both).
"""
from __future__ import annotations

import base64
import json
from typing import Any, Dict, Iterable, List, Mapping, Optional

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from ._server import BodyError, FakeServer, RecordedRequest, decode_body, json_response

__all__ = ["FakeSegmentCDN"]

_SETTINGS_PREFIX = "/v1/projects/"
_SETTINGS_SUFFIX = "/settings"


class FakeSegmentCDN(FakeServer):
    """Serves ``GET /v1/projects/<writeKey>/settings`` and ``POST /v1/batch``.

    ``settings``: write key -> the settings document (or an int: answer that status).
    A write key without settings gets 404, as the real CDN answers an unknown key.
    ``write_keys``: keys ``/v1/batch`` accepts; None accepts any key that has settings
    here, or any non-empty key when no settings were given.
    """

    def __init__(self, settings: Optional[Mapping[str, Any]] = None, *,
                 write_keys: Optional[Iterable[str]] = None, host: str = "127.0.0.1",
                 port: int = 0, quiet: bool = True) -> None:
        self._settings: Dict[str, Any] = dict(settings or {})
        self.write_keys = None if write_keys is None else set(write_keys)
        self._batches: List[Dict[str, Any]] = []
        super().__init__(host=host, port=port, quiet=quiet)

    def _register(self, server: HTTPServer) -> None:
        server.expect_request("/v1/batch", method="POST").respond_with_handler(self._handle_batch)
        server.expect_request("").respond_with_handler(self._handle_other)

    @property
    def api_url(self) -> str:
        """The Segment ``api_url`` (``/v1/batch`` is appended by the client)."""
        return self.base_url

    # -- configuration -----------------------------------------------------------------
    def set_settings(self, write_key: str, settings: Any) -> None:
        """Serve ``settings`` (a dict) for ``write_key``; an int answers that status."""
        with self._lock:
            self._settings[write_key] = settings

    def set_error(self, write_key: str, status: int) -> None:
        """Answer the settings request for ``write_key`` with ``status``."""
        self.set_settings(write_key, int(status))

    # -- what arrived ------------------------------------------------------------------
    @property
    def batches(self) -> List[Dict[str, Any]]:
        """Decoded bodies of the ``/v1/batch`` requests accepted, in arrival order."""
        with self._lock:
            return list(self._batches)

    @property
    def cloud_events(self) -> List[Dict[str, Any]]:
        """Every event of every accepted batch, flattened."""
        return [e for b in self.batches for e in b.get("batch", [])]

    @property
    def settings_requests(self) -> List[RecordedRequest]:
        return [r for r in self.requests if r.path.startswith(_SETTINGS_PREFIX)]

    def wait_for_batches(self, n: int, timeout: float = 5.0) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: len(self._batches) >= n, timeout)

    def _accept(self, events: List[Dict[str, Any]]) -> None:
        pass  # batches are appended in _handle_batch

    def _clear_state(self) -> None:
        self._batches.clear()

    # -- handlers ----------------------------------------------------------------------
    def _handle_other(self, request: Request) -> Response:
        path = request.path
        if request.method == "GET" and path.startswith(_SETTINGS_PREFIX) and path.endswith(_SETTINGS_SUFFIX):
            write_key = path[len(_SETTINGS_PREFIX):-len(_SETTINGS_SUFFIX)]
            if write_key and "/" not in write_key:
                return self._handle_settings(request, write_key)
        record = self._record(request)
        self.httpserver.add_assertion(f"FakeSegmentCDN: unexpected {request.method} {path}")
        record.status, record.error = 404, "no route"
        self._finish(record)
        return json_response(404, {"error": f"no route for {request.method} {path}"})

    def _handle_settings(self, request: Request, write_key: str) -> Response:
        record = self._record(request)
        fault = self._next_fault()
        def process(status: Optional[int] = None) -> Response:
            return self._serve_settings(record, write_key, status)

        if fault is not None:
            return self._apply_fault(fault, request, record, process)
        return process()

    def _serve_settings(self, record: RecordedRequest, write_key: str,
                        status: Optional[int] = None) -> Response:
        with self._lock:
            settings = self._settings.get(write_key)
        if settings is None:
            settings = 404
        if isinstance(settings, int):
            record.status, record.error = settings, "settings answered with an error status"
            self._finish(record)
            return Response("Not Found" if settings == 404 else "error", status=settings,
                            content_type="text/plain")
        record.status = status or 200
        record.body = settings
        self._finish(record)
        return json_response(record.status, settings)

    def _batch_write_key(self, request: Request) -> Optional[str]:
        auth = request.headers.get("Authorization") or ""
        if auth.lower().startswith("basic "):
            try:
                user = base64.b64decode(auth[6:].strip()).decode("utf-8").split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                return None
            return user or None
        # segment-analytics-python 2.x sends the key in the body instead.
        try:
            key = json.loads(decode_body(request)[0]).get("writeKey")
        except Exception:
            return None
        return key if isinstance(key, str) else None

    def _write_key_ok(self, key: Optional[str]) -> bool:
        if not key:
            return False
        if self.write_keys is not None:
            return key in self.write_keys
        with self._lock:
            known = [k for k, v in self._settings.items() if not isinstance(v, int)]
        return key in known if known else True

    def _handle_batch(self, request: Request) -> Response:  # noqa: C901 - one handler, read top to bottom
        record = self._record(request)
        try:
            record.raw, record.compressed = decode_body(request)
            record.body = json.loads(record.raw.decode("utf-8"))
            body_error = None
        except (BodyError, UnicodeDecodeError, ValueError) as e:
            body_error = f"body is not JSON: {e}"
        fault = self._next_fault()

        def process(status: Optional[int] = None) -> Response:
            return self._process_batch(request, record, body_error, status)

        if fault is not None:
            return self._apply_fault(fault, request, record, process)
        return process()

    def _process_batch(self, request: Request, record: RecordedRequest,
                       body_error: Optional[str], status: Optional[int] = None) -> Response:
        if not self._write_key_ok(self._batch_write_key(request)):
            record.status, record.error = 401, "missing or unknown write key (basic auth)"
            self._finish(record)
            return json_response(401, {"success": False, "error": record.error})
        if body_error is None and not (isinstance(record.body, dict)
                                       and isinstance(record.body.get("batch"), list)):
            body_error = "body must be an object with a 'batch' list"
        if body_error is None:
            body_error = _over_limits(record.raw, record.body["batch"])
        if body_error:
            record.status, record.error = 400, body_error
            self._finish(record)
            return json_response(400, {"success": False, "error": body_error})
        record.status = status or 200
        with self._lock:
            self._batches.append(record.body)
        self._finish(record, accepted=record.body["batch"])
        return json_response(record.status, {"success": True})


#: Segment's batch API limits (its HTTP API docs): 500 KB per request, 32 KB per event.
MAX_BATCH_BYTES = 500 * 1024
MAX_EVENT_BYTES = 32 * 1024


def _over_limits(raw: bytes, batch: List[Any]) -> Optional[str]:
    """What Segment answers 400 for, as its API does: the whole batch is refused."""
    if len(raw) > MAX_BATCH_BYTES:
        return f"batch of {len(raw)} bytes is over Segment's {MAX_BATCH_BYTES}-byte request limit"
    for i, event in enumerate(batch):
        size = len(json.dumps(event, separators=(",", ":")).encode("utf-8"))
        if size > MAX_EVENT_BYTES:
            return f"batch[{i}] is {size} bytes, over Segment's {MAX_EVENT_BYTES}-byte event limit"
    return None
