"""OnDeviceStore: the FeatureStore of ``StatsigDestination(on_device_evaluation=True)``. It
holds Statsig's config specs instead of one user's values and answers every user from them
(reply.py builds that user's initialize reply, which the FeatureStore reads as a server's),
so identify and reset make no request and a user never seen before is answered at once.

Where the specs come from, as the evaluation reason says (the JS on-device client's names):
``Bootstrap`` (``set_config_specs``, e.g. a file shipped with the app), ``Cache`` (the last
specs downloaded, ``statsig-specs.json`` in the storage folder) or ``Network`` (``GET
download_config_specs?k=<client key>`` on the store's thread, at start, retried as values
are). Specs whose ``time`` is older than those in use, or without ``has_updates: true``,
are ignored, as the JS client ignores them.
"""
from __future__ import annotations

import json
import logging
import time

from ...analytics.jsonsafe import compact
from ...delivery import policy
from ...storage.files import STATSIG_SPECS, read_json, write_json
from .. import exposures
from ..feature_store import FeatureStore, identity_key
from .reply import OnDeviceEvaluator

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Mapping, Optional, Union

log = logging.getLogger("segment_statsig")


class OnDeviceStore(FeatureStore):
    def __init__(self, *, specs_url: str, session_id: str, **options: Any) -> None:
        super().__init__(**options)
        self.specs_url = specs_url
        self.session_id = session_id
        self._evaluator: Optional[OnDeviceEvaluator] = None
        self._specs_source = "Uninitialized"
        self._specs_received_at: Optional[int] = None
        self._cache_read = False
        # Bumped when the reply made for the current user may be out of date (a user change
        # heard from the timeline, a refresh, new specs): the next check makes it again. The
        # reply itself stays readable meanwhile, so a check that just made it answers from
        # it (dropping it instead let a check racing the timeline answer the default).
        self._user_gen = 0
        self._values_gen = -1

    # --- the caller's side ------------------------------------------------------
    def set_config_specs(self, specs: Union[str, bytes, Mapping[str, Any]], source: str = "Bootstrap") -> bool:
        """Use these specs (ValueError / TypeError when they are not config specs); False
        when those in use are newer."""
        return self._install(OnDeviceEvaluator(specs), source, int(time.time() * 1000))

    def user_changed(self) -> None:
        """identify / reset: the next check evaluates the user of then; nothing to fetch."""
        with self._cond:
            self._user_gen += 1

    def refresh(self, explicit: bool = False) -> None:
        """refresh_values(), stale values at on_foreground(): download the specs again (the
        specs in use answer meanwhile, and stay on any failure)."""
        if self._thread is None:
            return
        with self._cond:
            self._user_gen += 1
            self._follow(force=not self._want_fetch)

    def evaluate(self, kind: str, name: str, expose: bool = True) -> Any:
        self.start()
        self._evaluate_current_user()
        return super().evaluate(kind, name, expose)

    def _evaluate_current_user(self) -> None:
        """Make the current user's reply from the specs, unless it is made (CPU only: a
        never-seen user is answered at once)."""
        with self._cond:
            key = self._follow()
            evaluator, gen = self._evaluator, self._user_gen
            if evaluator is None or (self._values_key == key and self._values_gen == gen):
                return
        user = self.user_fn()
        reply = evaluator.client_initialize_response(user)
        with self._cond:
            # Kept unless the user changed meanwhile or another check stored a fresher one; a
            # change heard since (a higher _user_gen) has the next check make it again.
            if self._key == key and not (self._values_key == key and self._values_gen >= gen):
                self._values, self._values_key, self._values_gen = reply, key, gen
                self._user, self._user_for = user, key
                self._received_at = self._specs_received_at
                self._source = self._specs_source

    def _follow(self, force: bool = False) -> str:
        """A user change needs no fetch: only the first start (or an owed one) downloads."""
        identity = self.identity_fn()
        self._user_id = identity[0]  # whose overrides apply
        key = identity_key(*identity)
        if key != self._key:
            self._dedupe = exposures.Deduper(self._dedupe.seconds)  # as the JS client: a new user, a new log
            self._key = key
        if force or self._owed:
            self._ask_fetch()
        return key

    # --- specs in use ---------------------------------------------------------------
    def _install(self, evaluator: OnDeviceEvaluator, source: str, received_at: Optional[int]) -> bool:
        with self._cond:
            if self._evaluator is not None and evaluator.time < self._evaluator.time:
                return False
            self._evaluator, self._specs_source, self._specs_received_at = evaluator, source, received_at
            self._user_gen += 1  # every user is evaluated again, from these
            self._source = source
            self.last_error = None
            self._cond.notify_all()
        self._values_updated(source)
        return True

    # --- the store's thread ----------------------------------------------------------
    def _fetch(self, key: str, gen: int) -> None:
        if not self._cache_read:
            self._cache_read = True
            self._read_cache()
        api_key = self._wait_for_key(gen)
        if api_key is None:
            self._settle(gen)
            return
        for attempt in range(self.retries + 1):
            result = self.transport.config_specs(self.specs_url, api_key, self.session_id)
            if policy.delivered(result.status):
                self._accept_specs(gen, result.reply)
                return
            why = f"HTTP {result.status}: {result.reply[:200]}" if result.status is not None else result.reply
            last = not policy.retryable(result.status) or attempt == self.retries
            if attempt == 0 or last:
                log.warning("Statsig specs: download failed (%s); %s", why,
                            "keeping the specs in use" if last else "retrying")
                self._settle(gen, f"download_config_specs failed: {why}")
            delay = max(policy.backoff_delay(attempt + 1, self.retry_base, self.retry_max),
                        policy.retry_after_floor(result.retry_after) or 0.0)
            if last or not self._sleep(gen, delay):
                return

    def _read_cache(self) -> None:
        stored = read_json(self.cache.directory, STATSIG_SPECS) if self.cache.directory else None
        if stored is None:
            return
        try:
            evaluator = OnDeviceEvaluator(stored["specs"])
        except (KeyError, TypeError, ValueError) as error:
            log.warning("Statsig specs: ignoring unreadable %s: %s", STATSIG_SPECS, error)
            return
        saved_at = stored.get("saved_at")
        self._install(evaluator, "Cache", saved_at if isinstance(saved_at, int) else None)

    def _accept_specs(self, gen: int, text: str) -> None:
        try:
            specs = json.loads(text)
            if not isinstance(specs, dict) or specs.get("has_updates") is not True:
                why = "no updates (has_updates is not true)"
                with self._cond:
                    made = self._values_key is not None and self._values_gen == self._user_gen
                    if self._evaluator is not None and made:
                        self._source = "NetworkNotModified"
                self._settle(gen)
                log.debug("Statsig specs: %s; keeping the specs in use", why)
                return
            evaluator = OnDeviceEvaluator(specs)
        except (TypeError, ValueError) as error:
            why = f"malformed config specs: {error}"
            log.warning("Statsig specs: %s; keeping the specs in use", why)
            self._settle(gen, why)
            return
        received_at = int(time.time() * 1000)
        if not self._install(evaluator, "Network", received_at):
            log.info("Statsig specs: ignoring specs older (time %s) than those in use", evaluator.time)
            self._settle(gen)
            return
        write_json(self.cache.directory, STATSIG_SPECS, compact({"saved_at": received_at, "specs": specs}))
        self._settle(gen)

    def _settle(self, gen: int, error: Optional[str] = None) -> None:
        with self._cond:
            known = self._evaluator is not None
        if known and error is not None:  # the specs in use still answer: not NoValues
            with self._cond:
                self.last_error = error
                self._settled_gen = max(self._settled_gen, gen)
                self._cond.notify_all()
            return
        super()._settle(gen, error)

    def wait_for_values(self, timeout: Optional[float]) -> bool:
        """Block (up to `timeout` s) until the first download has finished; True when specs are known."""
        super().wait_for_values(timeout)
        with self._cond:
            return self._evaluator is not None

    @property
    def source(self) -> str:
        self._evaluate_current_user()
        return super().source
