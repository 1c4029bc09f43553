"""HTTP: the only code that talks to the network (Statsig's endpoints, Segment's API and
CDN). One kept-alive connection per URL, Retry-After read, every reply read through one
bounded reader: a size limit (decompressed bytes included) and an overall deadline.

requests sets the connection up (proxies and CA settings from the environment, TLS,
the urllib3 pool), but each request goes straight to that pool's urlopen: requests'
per-request layers (Request/PreparedRequest, cookies, hooks, the Response wrapper)
cost more CPU than the request itself. requests and urllib3 are imported on a worker
thread, never at import time. Which URLs may be used is delivery/urls.py; loopback
URLs never go through a proxy (a plain http:// one would hand it the key in clear).

urllib3's read timeout is per read: a server sending a byte every few tenths of a
second would hold a request for ever. So the socket reads of a reply also check the
request's deadline (`timeout` seconds from its start, or less inside `time_limit`),
and a reply larger than the sender's `max_reply_bytes` once decompressed is cut off
where it crosses the limit: both are network errors, retried as such.

Each request is told to the radio seam (delivery/radio.py: a wake-up sends every leg's
pending with it), and none is made while the app said the network is gone.
"""
from __future__ import annotations

import contextlib
import gzip
import logging
import threading
import time
import zlib

from . import policy, radio

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    import socket
    from typing import Any, Dict, Iterator, Optional, Tuple

    import requests
    from urllib3 import BaseHTTPResponse, HTTPConnectionPool

    #: (urllib3 pool, URL to ask it for, default headers)
    Connection = Tuple[HTTPConnectionPool, str, Dict[str, str]]

log = logging.getLogger("segment_statsig")

REPLY_BYTES = 64 * 1024  # an API's acknowledgement ({"success": true}) is far below this
# Content-Encoding values this module decodes itself (so it can stop at the limit); the
# Accept-Encoding it sends offers only these.
ACCEPT_ENCODING = "gzip, deflate"

# The deadline of the request this thread is making (time.monotonic()), read by the
# socket reads of its reply, and the cap time_limit() puts on this thread's requests.
_local = threading.local()


class ReplyTooLarge(Exception):
    """A reply over the sender's max_reply_bytes (decompressed)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Requests this thread makes inside the block end within `seconds` (or their own
    timeout, if shorter): the timeline worker's sends, which must never hold it long."""
    outer = getattr(_local, "cap", None)
    _local.cap = seconds if outer is None else min(outer, seconds)
    try:
        yield
    finally:
        _local.cap = outer


class SendResult:
    """What one request gave: the status (None for a network error), Retry-After in
    seconds, the reply (cut short) or the error text, and the URL it went to."""

    __slots__ = ("status", "retry_after", "reply", "url")

    def __init__(self, status: Optional[int], retry_after: Optional[float] = None, reply: str = "",
                 url: str = "") -> None:
        self.status = status
        self.retry_after = retry_after
        self.reply = reply
        self.url = url


def retry_after_seconds(value: Optional[str]) -> Optional[float]:
    """Retry-After as seconds (a number or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    import email.utils

    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class HttpSender:
    """Requests to one URL over one kept-alive connection: the only code that talks
    HTTP. Retries are the delivery loop's business (delivery/policy.py), so the pool
    makes none. `timeout`: seconds a request may take, reply included; `max_reply_bytes`:
    the most a reply may hold, decompressed."""

    def __init__(self, url: str, timeout: float, use_gzip: bool = True, json_reply: bool = False,
                 reply_limit: Optional[int] = 300, max_reply_bytes: int = REPLY_BYTES) -> None:
        self.url = url
        self.reply_limit = reply_limit  # characters of the reply kept (None: all of it)
        self.max_reply_bytes = max_reply_bytes
        self.timeout = timeout
        self.use_gzip = use_gzip
        self.json_reply = json_reply  # the API answers JSON (policy.reply_accepted)
        self.session: Optional[requests.Session] = None
        # (urllib3 pool, URL to ask it for, default headers), once set up
        self.connection: Optional[Connection] = None
        self._setup_lock = threading.Lock()

    def prepare(self) -> None:
        """Import the network stack and set up the session and its pool now (the delivery
        thread calls it first, so the imports do not land in the middle of a burst).
        Idempotent; never raises: a failure here is left to the first post to report."""
        try:
            self._connect()
        except Exception as error:
            log.debug("HTTP set-up for %s failed (%s: %s); the first send tries again",
                      self.url, type(error).__name__, error)

    def post(self, body: bytes, headers: Dict[str, str], secret: Optional[str] = None) -> SendResult:
        """`body` bytes; returns a SendResult, never raises. `secret` is scrubbed from texts."""
        if self.use_gzip:
            # Level 1: a fifth of 6's CPU, and JSON still shrinks ~10x; a large batch (a
            # burst's) is worth level 6's extra ~8% on the wire.
            body = gzip.compress(body, compresslevel=6 if len(body) > 64 * 1024 else 1)
            headers["Content-Encoding"] = "gzip"
        return self._request("POST", body, headers, secret)

    def get(self, headers: Optional[Dict[str, str]] = None, secret: Optional[str] = None) -> SendResult:
        """A GET of the URL; returns a SendResult, never raises."""
        return self._request("GET", None, headers or {}, secret)

    def _request(self, method: str, body: Optional[bytes], headers: Dict[str, str],
                 secret: Optional[str]) -> SendResult:
        if not radio.online():  # the app said the network is gone: no wake-up, a network error
            return SendResult(None, None, "offline: network_available(False)", self.url)
        cap = getattr(_local, "cap", None)
        seconds = self.timeout if cap is None else min(self.timeout, cap)
        _local.deadline = deadline = time.monotonic() + seconds
        if secret:
            _scrubber.add(secret)  # urllib3's DEBUG line of this request (a CDN path holds the write key)
        try:
            from urllib3 import Timeout

            pool, path, base_headers = self._connect()
            # What HTTPAdapter.send does, minus its per-request layers. retries=False: no
            # retry, and an error raised as itself (not wrapped in MaxRetryError). The body
            # is read here, raw, so that its size is known before it is decompressed.
            response = pool.urlopen(method, path, body=body, headers={**base_headers, **headers}, redirect=False,
                                    assert_same_host=False, preload_content=False, decode_content=False,
                                    retries=False, timeout=Timeout(connect=seconds, read=seconds))
            status = response.status
            text = _read_bounded(response, self.max_reply_bytes).decode("utf-8", "replace")
            kept = text if self.reply_limit is None else text[:self.reply_limit]
            result = SendResult(status, retry_after_seconds(response.headers.get("Retry-After")), kept)
            if not policy.reply_accepted(status, text, self.json_reply):
                result = SendResult(None, None, f"HTTP {status} with a reply that is not JSON "
                                                f"(a captive portal or proxy?): {text[:200]}")
        except ReplyTooLarge:
            result = SendResult(None, None, f"ReplyTooLarge: the reply is over {self.max_reply_bytes} bytes; "
                                            "not read further")
        except Exception as error:  # network error, timeout, reset: retryable
            if time.monotonic() >= deadline:
                result = SendResult(None, None, f"TimeoutError: no complete reply within {seconds:g} s")
            else:
                result = SendResult(None, None, f"{type(error).__name__}: {error}")
        finally:
            _local.deadline = None
            radio.heard()  # the radio is up now: what else is pending rides on it
        result.url = self.url
        if secret:
            result.reply = result.reply.replace(secret, "<API_KEY>")
            result.url = result.url.replace(secret, "<API_KEY>")
        return result

    def _connect(self) -> Connection:
        """(pool, URL to send to, default headers), made once (two threads may ask: the
        delivery thread and, for a quick full batch, the timeline's)."""
        if self.connection is not None:
            return self.connection
        with self._setup_lock:
            return self._set_up()

    def _set_up(self) -> Connection:
        if self.connection is None:
            import requests
            from requests.adapters import HTTPAdapter

            from .urls import is_loopback

            _install_scrubber()
            session = requests.Session()
            # Read proxy and CA settings from the environment once, not on every request.
            # Loopback never goes through a proxy: it is this machine, and plain http is
            # allowed only there, so a proxy would see the key in clear.
            if not is_loopback(self.url):
                session.proxies.update(requests.utils.get_environ_proxies(self.url))
            settings = session.merge_environment_settings(self.url, {}, None, None, None)
            session.verify = settings.get("verify", True)
            session.trust_env = False
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=2, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            # One prepared request, only for requests to choose the pool (direct or through
            # the proxy, with the TLS settings) and the URL to ask it for (the full URL
            # through a plain-http proxy, else the path).
            prepared = requests.Request("POST", self.url).prepare()
            # (types-requests says ConnectionPool, the base class; requests gives an HTTP(S)ConnectionPool.)
            pool: HTTPConnectionPool = adapter.get_connection_with_tls_context(  # type: ignore[assignment]
                prepared, session.verify, proxies=session.proxies)
            adapter.cert_verify(pool, self.url, session.verify, None)  # type: ignore[no-untyped-call]
            # Its connections read replies through _DeadlineReader (a kept-alive connection
            # made before this line would not: none is, the pool is new).
            pool.ConnectionCls = _with_deadline(pool.ConnectionCls)
            path = adapter.request_url(prepared, session.proxies)
            # requests' defaults (User-Agent, Accept, Connection; str values, the stubs allow
            # bytes too), offering only the encodings _read_bounded decodes.
            base_headers: Dict[str, str] = dict(session.headers)  # type: ignore[arg-type]
            base_headers["Accept-Encoding"] = ACCEPT_ENCODING
            self.session = session
            self.connection = (pool, path, base_headers)
        return self.connection

    def close(self) -> None:
        """Close the connections; a later post sets them up again."""
        session, self.session, self.connection = self.session, None, None
        if session is not None:
            session.close()


def _read_bounded(response: BaseHTTPResponse, limit: int) -> bytes:
    """The reply's body, decoded as its Content-Encoding says, or ReplyTooLarge when the
    bytes read or the bytes they decompress to pass `limit` (a 256 KiB gzip reply can
    hold 256 MiB): never more than limit + 1 of either is held. The connection is
    released for the next request, or closed when the body was not read to its end."""
    done = False
    try:
        encoding = (response.headers.get("Content-Encoding") or "").strip().lower()
        decoder = _decoder(encoding)
        raw = response.read(limit + 1, decode_content=False)  # at most that, chunked or not
        if len(raw) > limit:
            raise ReplyTooLarge()
        if decoder is None:
            body = raw
        else:
            out = bytearray()
            while raw:
                out += decoder.decompress(raw, limit + 1 - len(out))
                if len(out) > limit:
                    raise ReplyTooLarge()
                # More input than the output bound let through, or a further gzip member.
                raw = decoder.unconsumed_tail or decoder.unused_data
                if decoder.eof and raw:
                    decoder = _decoder(encoding)
            body = bytes(out)
        done = True
    finally:
        if not done:
            response.close()
        response.release_conn()
    return body


def _decoder(encoding: str) -> Any:
    """A zlib decompressor for the Content-Encoding, None for none; ValueError for one
    this module did not offer."""
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise ValueError(f"a reply in Content-Encoding {encoding!r}, which was not offered")


_deadline_classes: Dict[type, type] = {}


def _with_deadline(connection_class: type) -> type:
    """`connection_class` (urllib3's HTTP(S)Connection) whose replies are read through
    _DeadlineReader."""
    made = _deadline_classes.get(connection_class)
    if made is None:
        import http.client
        import io

        class DeadlineReader(io.RawIOBase):
            """The socket's reads, each given at most what is left of this thread's request
            deadline (a reply trickling in a byte at a time still ends on time)."""

            def __init__(self, sock: socket.socket) -> None:
                self._sock = sock
                self._raw = sock.makefile("rb", buffering=0)  # the socket stays open while it is read
                self._per_read = sock.gettimeout()

            def readable(self) -> bool:
                return True

            def readinto(self, buffer: Any) -> Optional[int]:
                deadline = getattr(_local, "deadline", None)
                if deadline is None:
                    return self._raw.readinto(buffer)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("the request's deadline has passed")
                if self._per_read is not None and left >= self._per_read:
                    return self._raw.readinto(buffer)  # the per-read timeout ends sooner anyway
                self._sock.settimeout(left)
                try:
                    return self._raw.readinto(buffer)
                finally:
                    self._sock.settimeout(self._per_read)

            def close(self) -> None:
                if not self.closed:
                    self._raw.close()
                super().close()

        class SocketReadOnTime:
            """What http.client's response asks of a socket: makefile()."""

            def __init__(self, sock: socket.socket) -> None:
                self._sock = sock

            def makefile(self, mode: str) -> io.BufferedReader:
                return io.BufferedReader(DeadlineReader(self._sock))

        class DeadlineResponse(http.client.HTTPResponse):
            def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
                super().__init__(SocketReadOnTime(sock), *args, **kwargs)  # type: ignore[arg-type]

        made = _deadline_classes[connection_class] = type(
            connection_class.__name__, (connection_class,), {"response_class": DeadlineResponse})
    return made


class _Scrubber(logging.Filter):
    """Takes the keys this module sent out of the log records of urllib3 (its DEBUG line
    names each request's path: the CDN's holds the write key)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def add(self, secret: str) -> None:
        if secret not in self.secrets:
            self.secrets = self.secrets | {secret}  # a new set: filter() may be reading it

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self.secrets
        if secrets:
            text = record.getMessage()
            if any(secret in text for secret in secrets):
                for secret in secrets:
                    text = text.replace(secret, "<API_KEY>")
                record.msg, record.args = text, None
        return True


_scrubber = _Scrubber()


def _install_scrubber() -> None:
    for name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.response", "urllib3.util.retry",
                 "urllib3.poolmanager"):
        logger = logging.getLogger(name)
        if _scrubber not in logger.filters:
            logger.addFilter(_scrubber)
