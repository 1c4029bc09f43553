"""The retry policy, the one place it is written: which answers may succeed later, and
how long to wait before the next attempt.

Retryable, as Statsig's and Segment's SDKs do: network errors and timeouts (no status),
408, 429 (honouring Retry-After), 500, 502, 503, 504, 522, 524, 599. A 2xx whose reply
is not what the API answers (a captive portal, a proxy) counts as a network error
(delivery/http.py). Backoff is exponential with full jitter, capped; a server's
Retry-After (capped at five minutes) is a floor. While a retry is scheduled nothing is
sent, whoever asks (flush() included): at most one attempt per backoff step. 413 means
"smaller batches". 404 and 405 mean the URL is wrong (an api_url without its /v1), not
the events: they stay queued and are retried on the long backoff (each step between half
the cap and the cap), so a corrected URL or a server put right still gets them. Any other
status is final for what was sent.
"""
from __future__ import annotations

import json
import random

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Optional, Protocol

    class Uniform(Protocol):  # the random module, or a random.Random
        def uniform(self, a: float, b: float) -> float: ...

RETRYABLE = frozenset({408, 429, 500, 502, 503, 504, 522, 524, 599})
WRONG_URL = frozenset({404, 405})  # the endpoint is not there: the URL is at fault, not the events
MAX_RETRY_AFTER = 300.0  # seconds: a server asking for longer is waited on this long

# Jitter from a generator of our own, seeded from os.urandom: devices of an app that seeds
# the random module alike at launch would otherwise retry in step after an outage.
_jitter = random.Random()


def delivered(status: Optional[int]) -> bool:
    return status is not None and 200 <= status < 300


def reply_accepted(status: int, reply: str, expects_json: bool) -> bool:
    """False for a 2xx whose reply is not what the API answers (JSON): it came from
    something in the way (a captive portal, a proxy), so the events did not arrive."""
    if not expects_json or not delivered(status) or not reply.strip():
        return True
    try:
        json.loads(reply)
    except (ValueError, RecursionError):  # (nested too deeply to read: damaged, not the API's answer)
        return False
    return True


def retryable(status: Optional[int]) -> bool:
    """A network error (None) or a status that may succeed later."""
    return status is None or status in RETRYABLE


def wrong_url(status: Optional[int]) -> bool:
    """A status that says the URL is wrong (no such endpoint), not what was sent."""
    return status in WRONG_URL


def long_backoff_delay(cap: float, rng: Uniform = _jitter) -> float:
    """The wait after a wrong-URL answer: between half the backoff's cap and the cap."""
    return rng.uniform(cap / 2, cap)


def backoff_delay(attempt: int, base: float, cap: float, rng: Uniform = _jitter) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))] for attempt 1, 2, ..."""
    return rng.uniform(0, min(cap, base * 2 ** (max(1, attempt) - 1)))


def retry_after_floor(retry_after: Optional[float]) -> Optional[float]:
    """A server's Retry-After in seconds, capped; None when it gave none."""
    return None if retry_after is None else min(max(0.0, retry_after), MAX_RETRY_AFTER)
