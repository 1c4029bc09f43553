"""The FeatureStore: the one evaluation point of the current user's gates, configs,
experiments and layers, over the store's thread that fetches, retries, settles and caches
the values (statsig/values_thread.py).

- ``evaluate()``: the values of the current user, then the override adapter
  (statsig/overrides.py), then the exposure and the listeners' event.
- Exposures (statsig/exposures.py) are made on the first check of a name per user, value
  and rule (again after ``dedupe_seconds``) and handed to ``log_exposure`` right there, on
  the checking thread: the destination journals them, in call order.
"""
from __future__ import annotations

import logging
import time

from . import exposures
from .evaluation import from_spec
from .initialize_reply import lookup
from .listeners import EVALUATION_EVENTS, EVALUATION_FIELDS
from .overrides import REASON as OVERRIDE_REASON
from .values_thread import ValuesThread, identity_key

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, Optional, Tuple

    from .evaluation import Evaluation

__all__ = ["FeatureStore", "identity_key"]  # identity_key: where on_device/store.py and controls.py import it

log = logging.getLogger("segment_statsig")


class FeatureStore(ValuesThread):
    """The evaluation point and the exposure log, over the values of the store's thread."""

    def evaluate(self, kind: str, name: str, expose: bool = True) -> Evaluation:
        """An Evaluation of gate / config / experiment / layer `name` for the current user:
        the values, then an override, then its exposure (unless not `expose`) and the
        listeners' ``<kind>_evaluation`` event."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {kind} name must be a non-empty str")
        try:
            ev, key, user = self.read(kind, name)
        except Exception:  # values the reply's checks (initialize_reply.py) did not foresee: the default, never an error
            log.exception("Statsig values: %s %r could not be read; answering the default", kind, name)
            return from_spec("config" if kind == "experiment" else kind, name, None, self._source, None)
        if ev.kind == "layer":
            if expose:
                ev.on_get = lambda layer, parameter: self._expose(layer, key, user, parameter)
        elif expose:
            self._expose(ev, key, user)
        if self.listeners is not None and self.listeners.subscribed:  # (a check without listeners pays nothing)
            self.listeners.emit(EVALUATION_EVENTS[kind], **{EVALUATION_FIELDS[kind]: ev})
        return ev

    def read(self, kind: str, name: str) -> Tuple[Evaluation, str, Optional[Dict[str, Any]]]:
        """(the Evaluation, the identity key, the user the values are for): no exposure."""
        self.start()
        with self._cond:
            key = self._follow()
            values = self._values if self._values_key == key else None
            source = self._source
            user = self._user if self._user_for == key else None
            received_at = self._received_at if values is not None else None
            warnings, metadata, user_id = self._warnings, self._bootstrap_metadata, self._user_id
        base = "config" if kind == "experiment" else kind
        ev = from_spec(base, name, lookup(values, base, name), source, values.get("time") if values else None,
                       received_at)
        if warnings and values is not None:
            ev.warnings = list(warnings)
        if source == "Bootstrap" and values is not None:
            ev.bootstrap_metadata = metadata
        if self.overrides is not None and self.overrides.any:
            overridden = self.overrides.find(kind, name, user_id)
            if overridden is not None:
                ev.value, ev.forced_reason = overridden, OVERRIDE_REASON
        return ev, key, user

    def expose(self, ev: Evaluation, parameter: Optional[str] = None) -> None:
        """Log `ev`'s exposure now (a manual exposure), deduplicated like any other."""
        with self._cond:
            key = self._key or ""
            user = self._user if self._user_for == key else None
        self._expose(ev, key, user, parameter)

    def current_values(self) -> Optional[Dict[str, Any]]:
        """The reply in use for the current user (for a QA view), or None."""
        self.start()
        with self._cond:
            key = self._follow()
            return self._values if self._values_key == key else None

    # --- exposures ----------------------------------------------------------------
    def _expose(self, ev: Evaluation, key: str, user: Optional[Dict[str, Any]], parameter: Optional[str] = None) -> None:
        """Queue the exposure of `ev` (a layer: of reading `parameter`) unless already logged."""
        if not self.allowed_fn():
            return
        with self._cond:
            if not self._dedupe.first_time(exposures.dedupe_key(key, ev, parameter), time.monotonic()):
                return
        now = int(time.time() * 1000)
        if user is not None and "privateAttributes" in user:  # targeting only: never in an event
            user = {k: v for k, v in user.items() if k != "privateAttributes"}
        if ev.kind == "layer":  # (a layer's exposure is always of a parameter read: get())
            event = exposures.layer_exposure(ev, parameter, user, now)  # type: ignore[arg-type]
        else:
            event = exposures.gate_or_config_exposure(ev, user, now)
        try:
            self.log_exposure(event)
        except Exception:
            log.exception("Statsig: an exposure of %s %r could not be logged", ev.kind, ev.name)

