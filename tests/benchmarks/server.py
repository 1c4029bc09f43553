"""A loopback HTTP sink for the benchmark.

It answers fast (200 for Segment's ``/v1/batch``, 202 ``{"success": true}`` for
Statsig's ``log_event``/``rgstr``, a minimal body for the Statsig server SDK's config
endpoints), and counts requests, bytes on the wire and events (gzip decoded;
Segment's body has ``batch``, Statsig's has ``events``).

Modes:
  ``ok``    answer at once
  ``hang``  accept and read an event request, then never answer (until the server
            stops); config endpoints (Statsig's download_config_specs) still answer, so
            the SDKs start as usual and only delivery is stuck
  ``down``  not a mode of this server: use :func:`refused_url` for a port nobody listens on

It runs in the parent process of the benchmark, on threads; the measured library runs
in a child process, so the sink's own CPU is not charged to the caller's thread.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EVENT_PATH_SUFFIXES = ("/batch", "/log_event", "/rgstr")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients can reuse connections
    # TCP_NODELAY, and the response goes out in one write: otherwise Nagle + the
    # client's delayed ACK add ~40 ms to every request and the sink is the bottleneck.
    disable_nagle_algorithm = True
    server: "_Server"

    def log_message(self, *args):  # silence per-request logging
        pass

    def setup(self):  # once per connection: a client that reconnects per request shows here
        super().setup()
        sink = self.server.sink
        with sink._lock:
            sink.connections += 1
            sink.connection_log.append(time.time())

    def _read_body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            return self.rfile.read(n)
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return b""

    def _handle(self):
        body = self._read_body()
        sink = self.server.sink
        path = self.path.split("?", 1)[0]
        wire = len(self.raw_requestline) + len(self.headers.as_bytes()) + len(body)
        is_event_path = path.endswith(EVENT_PATH_SUFFIXES)
        gz = "gzip" in (self.headers.get("Content-Encoding") or "").lower()
        sink._record_request(path, wire, is_event_path, gz)
        if sink.mode == "hang" and is_event_path:
            # Accept and read, never answer: the client waits until its own timeout.
            sink._release.wait()
            self.close_connection = True
            return
        status, payload = 200, b"{}"
        if is_event_path:
            n, ids = _count_events(body, self.headers.get("Content-Encoding"), sink.record_ids)
            sink._record_events(n, ids)
            if path.endswith("/batch"):
                status, payload = 200, b'{"success": true}'
            else:
                status, payload = 202, b'{"success": true}'
        elif path.endswith("/settings"):  # Segment's CDN settings (the session scenario's write key)
            payload = sink.settings_body
        elif "download_config_specs" in path:
            payload = b'{"has_updates": false, "time": 0}'
        elif "get_id_lists" in path:
            payload = b"{}"
        self.wfile.write(
            b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (status, b"OK" if status == 200 else b"Accepted", len(payload), payload)
        )

    do_POST = _handle
    do_GET = _handle
    do_PUT = _handle


def _count_events(body: bytes, encoding, record_ids):
    try:
        if encoding and "gzip" in encoding.lower() or body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        elif encoding and "deflate" in encoding.lower():
            body = zlib.decompress(body)
        doc = json.loads(body)
    except Exception:
        return 0, None
    items = doc.get("batch")
    if items is None:
        items = doc.get("events") or []
    ids = None
    if record_ids:
        ids = []
        for ev in items:
            props = ev.get("properties") or ev.get("metadata") or {}
            i = props.get("i") if isinstance(props, dict) else None
            if i is not None:
                try:
                    ids.append(int(i))
                except (TypeError, ValueError):
                    pass
    # Count only the benchmark's own events when they are recognisable: Statsig's SDK
    # adds its own diagnostics events to the same batches.
    n = 0
    for ev in items:
        name = ev.get("event") or ev.get("eventName") or ""
        if "Bench Event" in name:
            n += 1
    return n, ids


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    sink: "SinkServer"

    def handle_error(self, request, client_address):
        pass  # a client closing its keep-alive connection is not news


class SinkServer:
    def __init__(self, mode: str = "ok", record_ids: bool = False):
        self.mode = mode
        self.record_ids = record_ids
        self.settings_body = b"{}"
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._httpd = None
        self._thread = None
        self.reset()

    # -- counters -----------------------------------------------------------------
    def reset(self):
        with self._lock:
            self.requests = 0
            self.event_requests = 0
            self.bytes = 0
            self.event_bytes = 0
            self.gzip_event_requests = 0
            self.events = 0
            self.first_event_t = None
            self.last_event_t = None
            self.last_request_t = None
            self.paths: dict = {}
            self.ids: list = []
            self.per_request: list = []  # events in each event request, in order
            self.request_log: list = []  # (time, path, is an event request), every request
            self.connections = 0
            self.connection_log: list = []  # time of each accepted connection
            self.id_times: list = []     # (i, time received), with record_ids

    def _record_request(self, path, wire, is_event_path, gz=False):
        now = time.time()
        with self._lock:
            self.requests += 1
            self.bytes += wire
            self.last_request_t = now
            self.paths[path] = self.paths.get(path, 0) + 1
            self.request_log.append((now, path, is_event_path))
            if is_event_path:
                self.event_requests += 1
                self.event_bytes += wire
                self.gzip_event_requests += gz

    def _record_events(self, n, ids):
        now = time.time()
        with self._lock:
            self.events += n
            self.per_request.append(n)
            if n:
                if self.first_event_t is None:
                    self.first_event_t = now
                self.last_event_t = now
            if ids:
                self.ids.extend(ids)
                self.id_times.extend((i, now) for i in ids)

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "requests": self.requests,
                "event_requests": self.event_requests,
                "bytes": self.bytes,
                "event_bytes": self.event_bytes,
                "gzip_event_requests": self.gzip_event_requests,
                "events": self.events,
                "first_event_t": self.first_event_t,
                "last_event_t": self.last_event_t,
                "last_request_t": self.last_request_t,
                "paths": dict(self.paths),
                "per_request": list(self.per_request),
                "connections": self.connections,
            }

    # -- lifecycle ----------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "SinkServer":
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.sink = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self):
        self._release.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def refused_url() -> str:
    """A loopback URL whose port nobody listens on (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"
