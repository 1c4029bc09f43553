"""Feature gates, dynamic configs and experiments on the device, as Statsig's client
SDKs evaluate them: the server evaluates everything for one user
(``POST {api_url}/initialize``) and the app reads the answers locally.

- Values are fetched on the store's own thread (``segment-statsig-values``), never on
  the caller's: a check reads what is in memory and returns at once.
- The last good reply for each user is cached on disk (``statsig-values-<hash>.json``
  in the Analytics storage folder, mode 0600; ``<hash>`` is a SHA-256 of the user's
  identity, so neither the user's IDs nor the API key appear in a file name or body).
  A cold start offline answers from it.
- A reply that is not a usable initialize response (not JSON, wrong shapes) is logged
  with the reason and ignored: the last good values stay.
- ``evaluation_reason``: ``Uninitialized`` (nothing known yet), ``NoValues`` (the fetch
  failed and there is no cache), ``Cache``, ``Network``, ``NetworkNotModified``.
  Exposure events carry ``<reason>:Recognized`` / ``<reason>:Unrecognized`` as the JS
  client does.
- Exposures (``statsig::gate_exposure``, ``statsig::config_exposure``,
  ``statsig::layer_exposure``) are made on the first check of a name per user, value and
  rule (again after ``dedupe_seconds``) and handed to ``write_exposures`` on the store's
  thread.
"""
from __future__ import annotations

import collections
import hashlib
import json
import logging
import os
import threading
import time

from ..delivery.policy import delivered
from ..delivery.policy import retryable as is_retryable
from ..storage.files import STATSIG_VALUES, write_json
from .values import Evaluation, MalformedReply, lookup, parse_reply

log = logging.getLogger("segment_statsig")

GATE_EXPOSURE = "statsig::gate_exposure"
CONFIG_EXPOSURE = "statsig::config_exposure"
LAYER_EXPOSURE = "statsig::layer_exposure"
MAX_CACHED_USERS = 10


def identity_key(user_id, anonymous_id):
    return json.dumps([user_id, anonymous_id])


def cache_name(key):
    return STATSIG_VALUES + hashlib.sha256(key.encode("utf-8")).hexdigest()[:40] + ".json"


class FeatureStore:
    """The values for the current user, the fetch thread, the disk cache and the exposure
    log. Everything the caller's thread does here is a dict lookup under a lock that no
    I/O ever holds."""

    def __init__(self, *, transport, key_fn, identity_fn, user_fn, metadata_fn, write_exposures,
                 storage_dir=None, retries=3, retry_base=1.0, dedupe_seconds=600.0):
        self.transport = transport            # statsig/transport.py: initialize() posts the request
        self.key_fn = key_fn                  # () -> client key or None (not known yet)
        self.identity_fn = identity_fn        # () -> (user_id, anonymous_id): cheap, any thread
        self.user_fn = user_fn                # () -> the Statsig user dict (store's thread)
        self.metadata_fn = metadata_fn        # () -> statsigMetadata dict
        self.write_exposures = write_exposures  # (list of event dicts) -> None (store's thread)
        self.storage_dir = storage_dir
        self.retries = retries
        self.retry_base = retry_base
        self.dedupe_seconds = dedupe_seconds
        self._cond = threading.Condition()
        self._key = None          # identity key of the current user
        self._gen = 0             # bumped by every user switch or refresh
        self._settled_gen = -1    # the last gen whose first fetch attempt finished
        self._want_fetch = False
        self._values = None       # the reply in use (for _values_key)
        self._values_key = None
        self._source = "Uninitialized"
        self._user = None         # the Statsig user the values were fetched for
        self._user_for = None     # its identity key
        self._exposures = collections.deque()
        self._exposures_made = self._exposures_written = 0
        self._seen = {}
        self._stopping = False
        self._thread = None
        self.last_error = None

    # --- caller's side ------------------------------------------------------------
    def start(self):
        """Begin following the user (idempotent, non-blocking)."""
        with self._cond:
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(target=self._run, name="segment-statsig-values", daemon=True)
                self._thread.start()
                self._follow(force=True)

    def refresh(self):
        """The user may have changed (identify, reset): fetch again for the current one."""
        if self._thread is None:
            return
        with self._cond:
            # a fetch not yet started reads the user when it starts: no second one needed
            self._follow(force=not self._want_fetch)

    def _follow(self, force=False):
        """With the lock held: switch to the current identity; fetch when it changed or `force`."""
        key = identity_key(*self.identity_fn())
        if key != self._key:
            self._key = key
            self._source = "Uninitialized"
            force = True
        if force:
            self._gen += 1
            self._want_fetch = True
            self._cond.notify_all()
        return key

    def evaluate(self, kind, name, expose=True):
        """An Evaluation of gate / config / layer `name` for the current user."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {kind} name must be a non-empty str")
        self.start()
        with self._cond:
            key = self._follow()
            values = self._values if self._values_key == key else None
            source = self._source
            user = self._user if self._user_for == key else None
        spec = lookup(values, kind, name)
        received = values.get("time") if values else None
        if kind == "gate":
            value = spec["value"] if spec else False
        else:
            value = dict(spec["value"]) if spec else {}
        ev = Evaluation(kind, name, value, rule_id=(spec or {}).get("rule_id") or "",
                        group_name=(spec or {}).get("group_name"), evaluation_reason=source,
                        recognized=spec is not None, id_type=(spec or {}).get("id_type"),
                        secondary_exposures=(spec or {}).get("secondary_exposures") or (),
                        time=received, spec=spec)
        if kind == "layer":
            ev._on_get = lambda layer, param: self._expose_layer(layer, param, key, user)
        elif expose:
            self._expose(ev, key, user)
        return ev

    @property
    def source(self):
        with self._cond:
            return self._source

    def wait_for_values(self, timeout):
        """Block (up to `timeout` s) until the current user's first fetch has finished;
        True when values are known (from the network or the cache)."""
        self.start()
        deadline = time.monotonic() + timeout
        with self._cond:
            key = self._follow()
            gen = self._gen
            while self._settled_gen < gen and not self._stopping:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return self._values_key == key and self._values is not None

    def flush_exposures(self, timeout):
        """Block until the exposures made so far are in the queue; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._exposures_made
            while self._exposures_written < target and self._thread is not None and self._thread.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return self._exposures_written >= target

    def stop(self, timeout=1.0):
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    # --- exposures ----------------------------------------------------------------
    def _first_time(self, dedupe):
        now = time.monotonic()
        with self._cond:
            seen = self._seen.get(dedupe)
            if seen is not None and now - seen < self.dedupe_seconds:
                return False
            if len(self._seen) >= 1000:
                self._seen.clear()
            self._seen[dedupe] = now
            return True

    def _expose(self, ev, key, user):
        value = json.dumps(ev.value, sort_keys=True) if ev.kind != "gate" else str(ev.value)
        if not self._first_time((key, ev.kind, ev.name, value, ev.rule_id)):
            return
        if ev.kind == "gate":
            name = GATE_EXPOSURE
            metadata = {"gate": ev.name, "gateValue": "true" if ev.value else "false", "ruleID": ev.rule_id}
        else:
            name = CONFIG_EXPOSURE
            metadata = {"config": ev.name, "ruleID": ev.rule_id}
        self._queue_exposure(name, metadata, ev, ev.secondary_exposures, key, user)

    def _expose_layer(self, ev, param, key, user):
        spec = ev._spec or {}
        explicit = param in (spec.get("explicit_parameters") or [])
        if not self._first_time((key, "layer", ev.name, param, ev.rule_id)):
            return
        metadata = {"config": ev.name, "parameterName": param, "ruleID": ev.rule_id,
                    "allocatedExperiment": (spec.get("allocated_experiment_name") or "") if explicit else "",
                    "isExplicitParameter": "true" if explicit else "false"}
        secondary = (spec.get("secondary_exposures") if explicit
                     else spec.get("undelegated_secondary_exposures")) or []
        self._queue_exposure(LAYER_EXPOSURE, metadata, ev, secondary, key, user)

    def _queue_exposure(self, event_name, metadata, ev, secondary, key, user):
        metadata["reason"] = ev.reason
        if ev.time:
            metadata["lcut"] = str(ev.time)
        event = {"eventName": event_name, "user": user, "time": int(time.time() * 1000),
                 "metadata": metadata, "secondaryExposures": list(secondary)}
        with self._cond:
            self._exposures.append((event, key))
            self._exposures_made += 1
            self._cond.notify_all()

    # --- the store's thread ---------------------------------------------------------
    def _run(self):
        while True:
            with self._cond:
                while not self._stopping and not self._exposures and not self._want_fetch:
                    self._cond.wait()
                exposures = list(self._exposures)
                self._exposures.clear()
                fetch, self._want_fetch = self._want_fetch, False
                key, gen, stopping = self._key, self._gen, self._stopping
            if exposures:
                self._write(exposures)
                with self._cond:
                    self._exposures_written += len(exposures)
                    self._cond.notify_all()
            if stopping:
                return
            if fetch:
                try:
                    self._fetch(key, gen)
                except Exception as error:  # never let the thread die
                    log.exception("Statsig values: fetch failed unexpectedly")
                    self._settle(gen, f"unexpected error: {error}")

    def _write(self, exposures):
        events = []
        for event, key in exposures:
            if event["user"] is None:
                with self._cond:
                    user = self._user if self._user_for == key else None
                event["user"] = user if user is not None else self.user_fn()
            events.append(event)
        try:
            self.write_exposures(events)
        except Exception:
            log.exception("Statsig: %d exposure events could not be stored", len(events))

    def _settle(self, gen, error=None):
        with self._cond:
            if error is not None:
                self.last_error = error
                if self._values is None or self._values_key != self._key:
                    self._source = "NoValues"
            self._settled_gen = max(self._settled_gen, gen)
            self._cond.notify_all()

    def _fetch(self, key, gen):
        with self._cond:
            have = self._values_key == key
        if not have:
            cached = self._read_cache(key)
            with self._cond:
                if cached is not None and self._key == key and self._values_key != key:
                    self._values, self._values_key = cached, key
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
            if delivered(status):
                self._accept(key, gen, status, text)
                return
            why = f"HTTP {status}: {text[:200]}" if status is not None else text
            retryable = is_retryable(status)
            last = not retryable or attempt == self.retries
            if attempt == 0 or last:
                log.warning("Statsig values: initialize failed (%s); %s", why,
                            "keeping the last values" if last else "retrying")
                self._settle(gen, f"initialize failed: {why}")
            if last or not self._sleep(gen, self.retry_base * (2 ** attempt)):
                return

    def _sleep(self, gen, seconds):
        """Wait before a retry; False when stopping or a newer fetch was asked for."""
        deadline = time.monotonic() + seconds
        with self._cond:
            while not self._stopping and self._gen == gen:
                left = deadline - time.monotonic()
                if left <= 0:
                    return True
                self._cond.wait(left)
            return False

    def _wait_for_key(self, gen):
        while True:
            key = self.key_fn()
            if key:
                return key
            with self._cond:
                if self._stopping or self._gen != gen:
                    return None
                self._cond.wait(0.25)

    def _accept(self, key, gen, status, text):
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
        with self._cond:
            if self._key == key:
                self._values, self._values_key = reply, key
                self._source = "Network"
                self.last_error = None
        self._write_cache(key, reply)
        self._settle(gen)

    # --- disk cache -----------------------------------------------------------------
    def _read_cache(self, key):
        if self.storage_dir is None:
            return None
        path = os.path.join(self.storage_dir, cache_name(key))
        try:
            with open(path, encoding="utf-8") as f:
                stored = json.load(f)
            return parse_reply(json.dumps(stored["values"]))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning("Statsig values: ignoring unreadable cache %s: %s", os.path.basename(path), error)
            return None

    def _write_cache(self, key, reply):
        name = cache_name(key)
        text = json.dumps({"saved_at": int(time.time() * 1000), "values": reply}, separators=(",", ":"))
        if write_json(self.storage_dir, name, text):
            self._prune(name)

    def _prune(self, keep):
        try:
            names = [n for n in os.listdir(self.storage_dir) if n.startswith(STATSIG_VALUES) and n.endswith(".json")]
            if len(names) <= MAX_CACHED_USERS:
                return
            paths = sorted((os.path.join(self.storage_dir, n) for n in names if n != keep), key=os.path.getmtime)
            for path in paths[:len(names) - MAX_CACHED_USERS]:
                os.unlink(path)
        except OSError:
            pass
