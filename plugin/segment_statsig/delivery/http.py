"""HTTP: the only code that talks to the network (Statsig's endpoints, Segment's API and
CDN). One kept-alive connection per URL, Retry-After read, a reply kept short.

requests sets the connection up (proxies and CA settings from the environment, TLS,
the urllib3 pool), but each request goes straight to that pool's urlopen: requests'
per-request layers (Request/PreparedRequest, cookies, hooks, the Response wrapper)
cost more CPU than the request itself. requests and urllib3 are imported on a worker
thread, never at import time. Which URLs may be used is delivery/urls.py.
"""
from __future__ import annotations

import gzip
import logging
import threading
import time

from . import policy

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Dict, Optional, Tuple

    import requests
    from urllib3 import HTTPConnectionPool, Timeout

    #: (urllib3 pool, URL to ask it for, default headers, timeout)
    Connection = Tuple[HTTPConnectionPool, str, Dict[str, str], Timeout]

log = logging.getLogger("segment_statsig")


class SendResult:
    """What one POST gave: the status (None for a network error), Retry-After in
    seconds, and the reply (cut short) or the error text."""

    __slots__ = ("status", "retry_after", "reply")

    def __init__(self, status: Optional[int], retry_after: Optional[float] = None, reply: str = "") -> None:
        self.status = status
        self.retry_after = retry_after
        self.reply = reply


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
    makes none."""

    def __init__(self, url: str, timeout: float, use_gzip: bool = True, json_reply: bool = False,
                 reply_limit: Optional[int] = 300) -> None:
        self.url = url
        self.reply_limit = reply_limit  # characters of the reply kept (None: all of it)
        self.timeout = timeout
        self.use_gzip = use_gzip
        self.json_reply = json_reply  # the API answers JSON (policy.reply_accepted)
        self.session: Optional[requests.Session] = None
        # (urllib3 pool, URL to ask it for, default headers, timeout), once set up
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
        try:
            pool, path, base_headers, timeout = self._connect()
            # What HTTPAdapter.send does, minus its per-request layers. retries=False: no
            # retry, and an error raised as itself (not wrapped in MaxRetryError).
            response = pool.urlopen(method, path, body=body, headers={**base_headers, **headers}, redirect=False,
                                    assert_same_host=False, preload_content=True, decode_content=True,
                                    retries=False, timeout=timeout)
            status = response.status
            text = response.data.decode("utf-8", "replace")
            kept = text if self.reply_limit is None else text[:self.reply_limit]
            result = SendResult(status, retry_after_seconds(response.headers.get("Retry-After")), kept)
            if not policy.reply_accepted(status, text, self.json_reply):
                result = SendResult(None, None, f"HTTP {status} with a reply that is not JSON "
                                                f"(a captive portal or proxy?): {text[:200]}")
        except Exception as error:  # network error, timeout, reset: retryable
            result = SendResult(None, None, f"{type(error).__name__}: {error}")
        if secret:
            result.reply = result.reply.replace(secret, "<API_KEY>")
        return result

    def _connect(self) -> Connection:
        """(pool, URL to send to, default headers, timeout), made once (two threads may ask:
        the delivery thread and, for a quick full batch, the timeline's)."""
        if self.connection is not None:
            return self.connection
        with self._setup_lock:
            return self._set_up()

    def _set_up(self) -> Connection:
        if self.connection is None:
            import requests
            from requests.adapters import HTTPAdapter
            from urllib3 import Timeout

            session = requests.Session()
            # Read proxy and CA settings from the environment once, not on every request.
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
            path = adapter.request_url(prepared, session.proxies)
            # requests' defaults: User-Agent, Accept-Encoding, Accept, Connection (str values, the
            # stubs allow bytes too).
            self.session = session
            self.connection = (pool, path, dict(session.headers),  # type: ignore[arg-type]
                               Timeout(connect=self.timeout, read=self.timeout))
        return self.connection

    def close(self) -> None:
        """Close the connections; a later post sets them up again."""
        session, self.session, self.connection = self.session, None, None
        if session is not None:
            session.close()
