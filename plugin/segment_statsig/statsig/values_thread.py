"""The store's thread: the current user's gate and experiment values on the device, as
Statsig's client SDKs keep them, fetched, retried, settled and cached. The server evaluates
everything for one user (``POST initialize_url``, statsig/transport.py) and the app reads
the answers locally through the one evaluation point (statsig/feature_store.py).

- Values are fetched on the store's own thread (``segment-statsig-values``), never on
  the caller's: a check reads what is in memory and returns at once.
- The last good reply of each user is cached on disk (statsig/values_cache.py); a cold
  start offline answers from it. A reply that is not a usable initialize response is
  logged with the reason and ignored: the last good values stay.
- ``evaluation_reason``: ``Uninitialized`` (nothing known yet), ``Loading`` (the user
  changed; the new user's values are not in yet), ``NoValues`` (the fetch failed and there
  is no cache), ``Cache``, ``Network``, ``NetworkNotModified``, ``Bootstrap`` (values the
  app gave, statsig/seeds.py: no request for that user) and ``Prefetch`` (fetched before
  the switch to that user).
- A failed fetch is retried as delivery retries (delivery/policy.py).
"""
from __future__ import annotations

import json
import logging
import threading
import time

from ..delivery import policy
from . import exposures
from .initialize_reply import MalformedReply, parse_reply
from .refresh import RefreshPolicy
from .seeds import Seeds, fetch_seed
from .values_cache import ValuesCache

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Tuple

    from .seeds import Seed

    from .listeners import Listeners
    from .overrides import LocalOverrides
    from .transport import StatsigTransport

log = logging.getLogger("segment_statsig")

def identity_key(user_id: Optional[str], anonymous_id: Optional[str]) -> str:
    return json.dumps([user_id, anonymous_id])



class ValuesThread:
    """The values for the current user, the fetch thread and the disk cache (the exposure
    log and the evaluation point are FeatureStore's, statsig/feature_store.py). Everything
    the caller's thread does here is a dict lookup under a lock that no I/O ever holds."""

    def __init__(self, *, transport: StatsigTransport, key_fn: Callable[[], Optional[str]],
                 identity_fn: Callable[[], Tuple[Optional[str], Optional[str]]],
                 user_fn: Callable[[], Dict[str, Any]], metadata_fn: Callable[[], Dict[str, Any]],
                 log_exposure: Callable[[Dict[str, Any]], None], storage_dir: Optional[str] = None,
                 retries: int = 3, retry_base: float = 1.0, retry_max: float = 30.0, dedupe_seconds: float = 600.0,
                 allowed_fn: Callable[[], bool] = lambda: True, overrides: Optional[LocalOverrides] = None,
                 listeners: Optional[Listeners] = None, auto_update_interval: Optional[float] = None) -> None:
        self.transport = transport            # statsig/transport.py: initialize() posts the request
        self.key_fn = key_fn                  # () -> client key or None (not known yet)
        self.identity_fn = identity_fn        # () -> (user_id, anonymous_id): cheap, any thread
        self.user_fn = user_fn                # () -> the Statsig user dict (store's thread)
        self.metadata_fn = metadata_fn        # () -> statsigMetadata dict
        self.log_exposure = log_exposure      # (exposure event dict) -> None, on the checking thread
        # () -> False while the user opted out: nothing is fetched (the user would go to
        # Statsig) and no exposure is logged; checks answer from what is known.
        self.allowed_fn = allowed_fn
        self.cache = ValuesCache(storage_dir)
        self.retries = retries
        self.retry_base = retry_base
        self.retry_max = retry_max
        self._cond = threading.Condition()
        self._key: Optional[str] = None  # identity key of the current user
        self._user_id: Optional[str] = None  # and its user ID
        self._gen = 0             # bumped by every user switch or refresh
        self._settled_gen = -1    # the last gen whose first fetch attempt finished
        self._want_fetch = False
        self._owed = False        # a fetch asked for while opted out
        self._values: Optional[Dict[str, Any]] = None  # the reply in use (for _values_key)
        self._values_key: Optional[str] = None
        self._source = "Uninitialized"
        self._received_at: Optional[int] = None  # when the values in use were received (ms)
        self._user: Optional[Dict[str, Any]] = None  # the Statsig user the values were fetched for
        self._user_for: Optional[str] = None  # its identity key
        self._dedupe = exposures.Deduper(dedupe_seconds)
        self._stopping = False
        self._thread: Optional[threading.Thread] = None
        self.last_error: Optional[str] = None
        self.overrides = overrides            # the override adapter, asked at every evaluation
        self.listeners = listeners            # values_updated and *_evaluation go there
        self.seeds = Seeds()                  # bootstrapped and prefetched values, by identity key
        self._warnings: List[str] = []        # of the values in use (a bootstrap for another user)
        self._bootstrap_metadata: Optional[Dict[str, Any]] = None
        self.refresh_policy = RefreshPolicy(auto_update_interval)  # statsig/refresh.py
        self._prefetch: List[Tuple[str, Dict[str, Any]]] = []  # (identity key, user) for the store's thread

    # --- caller's side ------------------------------------------------------------
    def start(self) -> None:
        """Begin following the user (idempotent, non-blocking)."""
        with self._cond:
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(target=self._run, name="segment-statsig-values", daemon=True)
                self._thread.start()
                self._follow(force=True)

    def key_changed(self) -> None:
        """The destination learnt its key (from the settings): a fetch waiting for one goes on."""
        with self._cond:
            self._cond.notify_all()

    def refresh(self, explicit: bool = False) -> None:
        """Fetch again for the current user (bootstrap values are not fetched again unless
        `explicit`: refresh_values())."""
        if self._thread is None:
            return
        with self._cond:
            # a fetch not yet started reads the user when it starts: no second one needed
            self._follow(force=not self._want_fetch and (explicit or self._source != "Bootstrap"))

    def user_changed(self) -> None:
        """The user may have changed (identify, reset): fetch for the current one, unless a
        fetch already asked for this very user (a check made between the call and the
        timeline's turn follows the new identity at once), or the app bootstrapped their
        values: one initialize per change."""
        if self._thread is None:
            return
        try:
            user: Optional[Dict[str, Any]] = self.user_fn()
        except Exception:  # the fetch will say why; here it only means "fetch again"
            user = None
        with self._cond:
            # A fetch not yet started, or started but not past reading its user, reads the
            # user of now; one that read this very user and did not fail has it too.
            reading = self._want_fetch or (self._settled_gen < self._gen and self._user_for is None)
            current = identity_key(*self.identity_fn())
            same = (user is not None and self._user_for == current
                    and self._user == user and self.last_error is None)
            seeded = self._key == current and self._source == "Bootstrap"
            self._follow(force=not (reading or same or seeded))

    def _follow(self, force: bool = False) -> str:
        """With the lock held: switch to the current identity; fetch when it changed or `force`."""
        identity = self.identity_fn()
        self._user_id = identity[0]  # whose overrides apply
        key = identity_key(*identity)
        if key != self._key:
            # a user change: until the new user's values come, checks answer the default
            # with the reason Loading, as Statsig's JS client does during updateUserAsync
            self._source = "Uninitialized" if self._key is None else "Loading"
            self._key = key
            self._dedupe = exposures.Deduper(self._dedupe.seconds)  # as the JS client: a new user, a new log
            force = True
            seeded = self.seeds.get(key)
            if seeded is not None:  # bootstrapped or prefetched: answer at once, no waiting
                self._use_seed(key, seeded)
                force = seeded.source != "Bootstrap"  # bootstrap values need no request
        if force or self._owed:
            self._ask_fetch()
        return key

    def _ask_fetch(self) -> None:
        """With the lock held: the store's thread fetches for the current user (not while
        opted out: owed until the user is back in)."""
        if not self.allowed_fn():
            self._owed = True
            return
        self._owed = False
        self._gen += 1
        self._want_fetch = True
        self._cond.notify_all()

    def bootstrap(self, key: str, reply: Dict[str, Any], warnings: List[str]) -> None:
        """Values the app got from its own server for identity `key`: used at once when
        that is the current user, else at the switch to them; no request for that user."""
        seed = self.seeds.put(key, "Bootstrap", reply, int(time.time() * 1000), warnings)
        with self._cond:
            if self._key == key:
                self._use_seed(key, seed)
            self._cond.notify_all()

    def prefetch(self, key: str, user: Dict[str, Any]) -> None:
        """Fetch values for another user (`key`, `user`) on the store's thread, so the
        switch to them answers at once."""
        self.start()
        with self._cond:
            self._prefetch.append((key, user))
            self._cond.notify_all()

    def _use_seed(self, key: str, seed: Seed) -> None:
        """With the lock held: the seed's values are the current user's now."""
        self._values, self._values_key, self._received_at = seed.reply, key, seed.received_at
        self._source, self._warnings = seed.source, list(seed.warnings)
        self._bootstrap_metadata = seed.bootstrap_metadata
        self._settled_gen = max(self._settled_gen, self._gen)
        self._cond.notify_all()
        self._values_updated(seed.source)

    def _values_updated(self, source: str) -> None:
        if self.listeners is not None:
            self.listeners.emit("values_updated", status="Ready", reason=source)

    @property
    def source(self) -> str:
        with self._cond:
            if self._thread is not None:
                self._follow()  # the current user's, even before a check switched to them
            return self._source

    def wait_for_values(self, timeout: Optional[float]) -> bool:
        """Block (up to `timeout` s) until the current user's first fetch has finished;
        True when values are known (from the network or the cache)."""
        self.start()
        with self._cond:
            key = self._follow()
            gen = self._gen
            self._cond.wait_for(lambda: self._settled_gen >= gen or self._stopping, timeout)
            return self._values_key == key and self._values is not None

    def stop(self, timeout: float = 1.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    # --- the store's thread ---------------------------------------------------------
    def _run(self) -> None:
        last_fetch = time.monotonic()
        while True:
            with self._cond:
                due = self.refresh_policy.seconds_left
                self._cond.wait_for(lambda: self._stopping or self._want_fetch or bool(self._prefetch)
                                    or due(last_fetch) == 0.0, due(last_fetch))
                if due(last_fetch) == 0.0 and self._key is not None:
                    self._gen += 1  # a periodic refresh: as Android's enableAutoValueUpdate
                    self._want_fetch = True
                fetch, self._want_fetch = self._want_fetch, False
                prefetch, self._prefetch = self._prefetch, []
                key, gen, stopping = self._key, self._gen, self._stopping
                if fetch:  # its user is read in _fetch: until then refresh() knows it will be current
                    self._user_for = None
            if stopping:
                return
            for other_key, other_user in prefetch:
                fetch_seed(self, other_key, other_user)
            if fetch:
                last_fetch = time.monotonic()
                try:  # (key is set: _follow() sets it before it asks for a fetch)
                    self._fetch(key, gen)  # type: ignore[arg-type]
                except Exception as error:  # never let the thread die
                    log.exception("Statsig values: fetch failed unexpectedly")
                    self._settle(gen, f"unexpected error: {error}")

    def radio_up(self) -> None:
        """The destination just made a request: a periodic refresh now due goes out with it."""
        with self._cond:
            self.refresh_policy.radio_at = time.monotonic()
            if self.refresh_policy.interval is not None:
                self._cond.notify_all()

    def _settle(self, gen: int, error: Optional[str] = None) -> None:
        with self._cond:
            if error is not None:
                self.last_error = error
                if self._values is None or self._values_key != self._key:
                    self._source = "NoValues"
            self._settled_gen = max(self._settled_gen, gen)
            self._cond.notify_all()

    def _fetch(self, key: str, gen: int) -> None:
        with self._cond:
            have = self._values_key == key
        if not have:
            cached = self.cache.read(key)
            with self._cond:
                if cached is not None and self._key == key and self._values_key != key:
                    (self._values, self._received_at), self._values_key = cached, key
                    self._source = "Cache"
        user = self.user_fn()
        with self._cond:
            if self._key != key:   # the user changed meanwhile: the next round fetches for the new one
                self._settle(gen)
                return
            self._user, self._user_for = user, key
        api_key = self._wait_for_key(gen)
        if api_key is None:
            self._settle(gen)
            return
        metadata = self.metadata_fn()
        for attempt in range(self.retries + 1):
            result = self.transport.initialize(api_key, user, metadata)
            status, text = result.status, result.reply
            if policy.delivered(status):
                self._accept(key, gen, status, text)
                return
            why = f"HTTP {status}: {text[:200]}" if status is not None else text
            retryable = policy.retryable(status)
            last = not retryable or attempt == self.retries
            if attempt == 0 or last:
                log.warning("Statsig values: initialize failed (%s); %s", why,
                            "keeping the last values" if last else "retrying")
                if self.listeners is not None:
                    self.listeners.emit("error", tag="NetworkError", error=f"initialize failed: {why}")
                self._settle(gen, f"initialize failed: {why}")
            delay = policy.backoff_delay(attempt + 1, self.retry_base, self.retry_max)
            floor = policy.retry_after_floor(result.retry_after)
            if last or not self._sleep(gen, max(delay, floor or 0.0)):
                return

    def _sleep(self, gen: int, seconds: float) -> bool:
        """Wait before a retry; False when stopping or a newer fetch was asked for."""
        with self._cond:
            return not self._cond.wait_for(lambda: self._stopping or self._gen != gen, seconds)

    def _wait_for_key(self, gen: int) -> Optional[str]:
        """The key, once the settings give one (key_changed() wakes this); None when
        there is none yet and the store stops or a newer fetch was asked for."""
        with self._cond:
            self._cond.wait_for(lambda: self.key_fn() or self._stopping or self._gen != gen)
            return self.key_fn() or None

    def _accept(self, key: str, gen: int, status: Optional[int], text: str) -> None:
        if status == 204 or not text.strip():
            reply = {"has_updates": False}
        else:
            try:
                reply = parse_reply(text)
            except MalformedReply as error:
                why = f"malformed initialize reply: {error}"
                log.warning("Statsig values: %s; keeping the last good values", why)
                self._settle(gen, why)
                return
        if reply.get("has_updates") is False:
            with self._cond:
                if self._values_key == key:
                    self._source = "NetworkNotModified"
            self._settle(gen)
            return
        received_at = int(time.time() * 1000)
        with self._cond:
            if self._key == key:
                self._values, self._values_key = reply, key
                self._received_at = received_at
                self._source = "Network"
                self._warnings, self._bootstrap_metadata = [], None
                self.last_error = None
        self.cache.write(key, reply, received_at)
        self._settle(gen)
        self._values_updated("Network")
