"""HTTP for the delivery workers: URL checks, Retry-After, and one POST through a
requests session (imported on first use, on a worker thread)."""
from __future__ import annotations

import gzip
import ipaddress
import time
import urllib.parse

from .delivery import SendResult


def check_api_url(url):
    """https anywhere; plain http only to this machine (loopback). Returns it without a trailing /."""
    parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"api_url must be an http(s) URL, not {url!r}")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ValueError(f"api_url {url!r}: plain http is allowed only to loopback; use https")
    return url.rstrip("/")


def _loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def retry_after_seconds(value):
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


def _is_json(text):
    import json

    try:
        json.loads(text)
    except ValueError:
        return False
    return True


class HttpSender:
    """POSTs bodies to one URL over one kept-alive connection. Retries are the
    delivery loop's business, so the adapter makes none."""

    def __init__(self, url, timeout, use_gzip=True, json_reply=False):
        self.url = url
        self.timeout = timeout
        self.use_gzip = use_gzip
        # The API answers JSON: a 2xx with any other body came from something in the
        # way (a captive portal, a proxy), so the events did not arrive: retry them.
        self.json_reply = json_reply
        self.session = None

    def post(self, body, headers, secret=None):
        """`body` bytes; returns a SendResult, never raises. `secret` is scrubbed from texts."""
        if self.use_gzip:
            body = gzip.compress(body, compresslevel=1)  # 5x less CPU than 6; JSON still shrinks ~10x
            headers["Content-Encoding"] = "gzip"
        try:
            response = self._session().post(self.url, data=body, headers=headers, timeout=self.timeout)
            text = response.text
            result = SendResult(response.status_code, retry_after_seconds(response.headers.get("Retry-After")),
                                text[:300])
            if self.json_reply and 200 <= response.status_code < 300 and text.strip() and not _is_json(text):
                result = SendResult(None, None, f"HTTP {response.status_code} with a reply that is not JSON "
                                                f"(a captive portal or proxy?): {text[:200]}")
        except Exception as error:  # network error, timeout, reset: retryable
            result = SendResult(None, None, f"{type(error).__name__}: {error}")
        if secret:
            result.reply = result.reply.replace(secret, "<API_KEY>")
        return result

    def _session(self):
        if self.session is None:
            import requests
            from requests.adapters import HTTPAdapter

            session = requests.Session()
            # Read proxy and CA settings from the environment once, not on every request
            # (trust_env re-reads them, and ~/.netrc, per request: a fifth of its CPU).
            session.proxies.update(requests.utils.get_environ_proxies(self.url))
            settings = session.merge_environment_settings(self.url, {}, None, None, None)
            session.verify = settings.get("verify", True)
            session.trust_env = False
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=2, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self.session = session
        return self.session

    def close(self):
        if self.session is not None:
            self.session.close()
            self.session = None
