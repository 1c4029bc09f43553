"""The controls an app developer knows from Statsig's own client SDKs, on the Statsig
destination: local overrides, listeners, refresh, bootstrap, manual exposures and
parameter stores. Each is a thin front to its own module (overrides.py, listeners.py,
seeds.py, param_store.py) and to the store's one evaluation point (feature_store.py)."""
from __future__ import annotations

import json
import logging
import threading
import time

from .feature_store import identity_key
from .initialize_reply import MalformedReply, parse_reply
from .listeners import Listeners
from .param_store import ParameterStore, resolve_store

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Mapping, Optional, Union

    from ..analytics.client import Analytics
    from .evaluation import Evaluation
    from .feature_store import FeatureStore
    from .overrides import LocalOverrides

log = logging.getLogger("segment_statsig")

MIN_AUTO_UPDATE_INTERVAL = 60.0  # seconds, as Android's enableAutoValueUpdate
FOREGROUND_STALE_SECONDS = 300.0  # on_foreground() refreshes values older than this
_FOLLOW_LOCK = threading.Lock()


class ValueControls:
    """Mixed into StatsigDestination, which provides the attributes declared here."""

    analytics: Optional[Analytics]
    _feature_store: Optional[FeatureStore]
    _overrides: Optional[LocalOverrides]
    listeners: Listeners

    def _evaluate(self, kind: str, name: str, log_exposure: bool = True) -> Evaluation:
        raise NotImplementedError

    def _initialize_user(self, user_id: Optional[str], traits: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
        raise NotImplementedError

    # --- local overrides (as @statsig/js-local-overrides) ---------------------------------
    def _override_store(self) -> LocalOverrides:
        if self._overrides is None:
            raise ValueError("overrides need the destination added to an Analytics (they live in its storage folder)")
        return self._overrides

    def override_gate(self, name: str, value: bool, *, user_id: Optional[str] = None) -> None:
        """Gate `name` answers `value` (for `user_id` only, or everyone), kept across restarts."""
        self._override_store().set("gate", name, value, user_id)

    def override_config(self, name: str, value: Dict[str, Any], *, user_id: Optional[str] = None) -> None:
        self._override_store().set("config", name, value, user_id)

    def override_experiment(self, name: str, value: Dict[str, Any], *, user_id: Optional[str] = None) -> None:
        self._override_store().set("experiment", name, value, user_id)

    def override_layer(self, name: str, value: Dict[str, Any], *, user_id: Optional[str] = None) -> None:
        self._override_store().set("layer", name, value, user_id)

    def override_parameter_store(self, name: str, value: Dict[str, Any], *, user_id: Optional[str] = None) -> None:
        """Each parameter in `value` answers as a static parameter of that value."""
        self._override_store().set("param_store", name, value, user_id)

    def remove_gate_override(self, name: str, *, user_id: Optional[str] = None) -> None:
        self._override_store().remove("gate", name, user_id)

    def remove_config_override(self, name: str, *, user_id: Optional[str] = None) -> None:
        self._override_store().remove("config", name, user_id)

    def remove_experiment_override(self, name: str, *, user_id: Optional[str] = None) -> None:
        self._override_store().remove("experiment", name, user_id)

    def remove_layer_override(self, name: str, *, user_id: Optional[str] = None) -> None:
        self._override_store().remove("layer", name, user_id)

    def remove_parameter_store_override(self, name: str, *, user_id: Optional[str] = None) -> None:
        self._override_store().remove("param_store", name, user_id)

    def remove_all_overrides(self, *, user_id: Optional[str] = None) -> None:
        """Every override for everyone (or, with `user_id`, every one of that user's)."""
        self._override_store().remove_all(user_id)

    def get_all_overrides(self, *, user_id: Optional[str] = None) -> Dict[str, Dict[str, Any]]:
        """The overrides, in the JS adapter's shape: gate, dynamicConfig, experiment, layer, paramStore."""
        return self._override_store().all(user_id)

    # --- listeners (as the JS client's on()) ---------------------------------------
    def on(self, event_name: str, callback: Callable[[Dict[str, Any]], Any]) -> Callable[[], None]:
        """Call `callback(event)` on the listeners' thread for each `event_name` event
        (values_updated, gate_evaluation, dynamic_config_evaluation, experiment_evaluation,
        layer_evaluation, logs_flushed, error, overrides_updated, user_changed; ``*``: all).
        Returns the unsubscribe function."""
        unsubscribe = self.listeners.on(event_name, callback)
        if event_name in ("user_changed", "*"):
            self._follow_identity()
        return unsubscribe

    _identity_followed = False

    def _follow_identity(self) -> None:
        """Emit user_changed after each identity change (once someone listens for it): the
        analytics' user info, which tells on a thread of its own, right after the call."""
        analytics = self.analytics
        with _FOLLOW_LOCK:  # (two first subscriptions at once: still one follower)
            if analytics is None or self._identity_followed:
                return  # (setup() comes back here once the destination is added)
            self._identity_followed = True
        last = [None]

        def changed(info: Any) -> None:
            if last[0] is not None and last[0] != info:
                self.listeners.emit("user_changed", user_id=info.user_id, anonymous_id=info.anonymous_id)
            last[0] = info
        analytics.subscribe_to_user_info(changed)

    # --- refresh -------------------------------------------------------------------
    def refresh_values(self) -> None:
        """Fetch the current user's values again (non-blocking); the last good values stay
        in use until a good reply replaces them, and stay on any failure."""
        if self._feature_store is not None:
            self._feature_store.start()
            self._feature_store.refresh(explicit=True)

    def on_foreground(self) -> None:
        """The app is back: refresh values older than FOREGROUND_STALE_SECONDS."""
        store = self._feature_store
        if store is None or store._thread is None:
            return
        received_at = store._received_at
        if received_at is None or time.time() * 1000 - received_at > FOREGROUND_STALE_SECONDS * 1000:
            store.refresh()

    # --- bootstrap -----------------------------------------------------------------
    def bootstrap(self, values: Union[str, Dict[str, Any]], user_id: Optional[str] = None) -> List[str]:
        """Use `values` (an initialize reply the app's server made, a dict or its JSON
        text) for user `user_id` (None: the current user): checks answer from them at once
        with the reason ``Bootstrap:Recognized``, and no initialize request is made for
        that user. Returns the warnings (``PartialUserMatch`` when the reply's user is not
        that user: its values are used, and the reason says so)."""
        if isinstance(values, dict):
            text = json.dumps(values)
        elif isinstance(values, str):
            text = values
        else:
            raise TypeError("bootstrap values are an initialize reply: a dict or its JSON text")
        try:
            reply = parse_reply(text)
        except MalformedReply as error:
            raise ValueError(f"bootstrap values are not a usable initialize reply: {error}") from None
        analytics, store = self.analytics, self._feature_store
        if analytics is None or store is None:
            raise ValueError("bootstrap needs the destination added to an Analytics")
        target = user_id if user_id is not None else analytics.user_id
        warnings: List[str] = []
        expected = self._initialize_user(target, None if user_id is not None else analytics.traits)
        given = reply.get("user")
        if isinstance(given, dict) and _comparable(given) != _comparable(expected):
            warnings.append("PartialUserMatch")  # the JS client's warning: the reply was made for another user
        store.bootstrap(identity_key(target, analytics.anonymous_id), reply, warnings)
        return warnings

    # --- exposures -----------------------------------------------------------------
    def log_gate_exposure(self, name: str) -> None:
        """One gate exposure, with the details of the value the app sees (Android's
        manuallyLogGateExposure): for a check made with log_exposure=False."""
        self._manual("gate", name)

    def log_config_exposure(self, name: str) -> None:
        self._manual("config", name)

    def log_experiment_exposure(self, name: str) -> None:
        self._manual("experiment", name)

    def log_layer_parameter_exposure(self, layer: str, parameter: str) -> None:
        self._manual("layer", layer, parameter)

    def _manual(self, kind: str, name: str, parameter: Optional[str] = None) -> None:
        store = self._feature_store
        if store is None:
            return
        ev = self._evaluate(kind, name, False)
        store.expose(ev, parameter)

    def get_values(self) -> Optional[Dict[str, Any]]:
        """A copy of the current user's initialize reply (names hashed as it says), or None:
        for a QA view that lists every gate, config, experiment, layer and parameter store."""
        store = self._feature_store
        values = store.current_values() if store is not None else None
        return json.loads(json.dumps(values)) if values is not None else None

    # --- parameter stores ------------------------------------------------------------
    def get_parameter_store(self, name: str, log_exposure: bool = True) -> ParameterStore:
        """Parameter store `name`: ``.get(parameter, default)`` resolves each reference
        (static, gate, dynamic_config, experiment, layer) as the JS client does."""
        store = self._feature_store
        if store is None:
            if not isinstance(name, str) or not name:
                raise ValueError("a parameter store name must be a non-empty str")
            return ParameterStore(name, {"reason": "Uninitialized", "lcut": None, "received_at": None,
                                         "warnings": []}, None, self._evaluate, log_exposure)
        configuration, details = resolve_store(store, name)
        return ParameterStore(name, details, configuration, self._evaluate, log_exposure)


def _comparable(user: Dict[str, Any]) -> str:
    """A user as the JS client compares a bootstrap's: less privateAttributes and analytics-only metadata."""
    kept = {k: v for k, v in user.items() if k not in ("privateAttributes", "analyticsOnlyMetadata")}
    return json.dumps(kept, sort_keys=True, default=str)
