"""The app's reads of the current user's values on the Statsig destination, as Statsig's
client SDKs name them: check_gate, get_feature_gate, get_config, get_experiment, get_layer,
and prefetching, waiting for and describing the values. Each is a thin front to the
store's one evaluation point (feature_store.py); the store is made by the destination
(destination.py, ``_values_setup``)."""
from __future__ import annotations

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, Mapping, Optional

    from ..analytics.client import Analytics
    from .evaluation import Evaluation
    from .feature_store import FeatureStore


class ValueChecks:
    """Mixed into StatsigDestination, which provides the attributes declared here."""

    analytics: Optional[Analytics]
    _feature_store: Optional[FeatureStore]
    _api_key: Optional[str]
    not_ready_reason: Optional[str]

    def _initialize_user(self, user_id: Optional[str], traits: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
        raise NotImplementedError

    def _evaluate(self, kind: str, name: str, log_exposure: bool = True) -> Evaluation:
        from .evaluation import Evaluation

        if self._feature_store is None:  # not added to an Analytics yet
            return Evaluation("config" if kind == "experiment" else kind, name, False if kind == "gate" else {})
        return self._feature_store.evaluate(kind, name, log_exposure)

    def check_gate(self, name: str, log_exposure: bool = True) -> bool:
        """True when feature gate `name` passes for the current user (False until known).
        Logs a statsig::gate_exposure the first time per user and value (not with
        log_exposure=False: log_gate_exposure(name) logs it when the app decides)."""
        passes: bool = self._evaluate("gate", name, log_exposure).value  # a bool (initialize_reply.py)
        return passes

    def get_feature_gate(self, name: str, log_exposure: bool = True) -> Evaluation:
        """The gate as an Evaluation (value, rule_id, details); logs the exposure."""
        return self._evaluate("gate", name, log_exposure)

    def get_config(self, name: str, log_exposure: bool = True) -> Evaluation:
        """Dynamic config `name`: .get(key, default), .value, .rule_id, .details.
        Logs a statsig::config_exposure the first time per user and value."""
        return self._evaluate("config", name, log_exposure)

    def get_experiment(self, name: str, log_exposure: bool = True) -> Evaluation:
        """Experiment `name` (a dynamic config with a group_name); logs its exposure."""
        return self._evaluate("experiment", name, log_exposure)

    def get_layer(self, name: str, log_exposure: bool = True) -> Evaluation:
        """Layer `name`; each parameter read with .get() logs a statsig::layer_exposure."""
        return self._evaluate("layer", name, log_exposure)

    def prefetch_values(self, user_id: Optional[str] = None, traits: Optional[Mapping[str, Any]] = None) -> None:
        """Start fetching values now (non-blocking); apps that use gates call it at start.
        With `user_id` (and `traits`): for that user, before identify() switches to them,
        so the switch answers at once (reason ``Prefetch``) instead of flickering."""
        store, analytics = self._feature_store, self.analytics
        if store is None or analytics is None:
            return
        store.start()
        if user_id is not None:
            if not isinstance(user_id, str) or not user_id:
                raise ValueError("user_id must be a non-empty str")
            from .feature_store import identity_key

            store.prefetch(identity_key(user_id, analytics.anonymous_id),
                           self._initialize_user(user_id, {**analytics.traits, **(traits or {})}))

    def wait_for_values(self, timeout: float = 5.0) -> bool:
        """Wait up to `timeout` s for the current user's fetch (never call it on a UI
        thread); True when values are known, from the network or the disk cache."""
        if self._feature_store is None:
            return False
        return self._feature_store.wait_for_values(timeout)

    def flush_exposures(self, timeout: float = 5.0) -> bool:
        """Wait until the exposures logged so far are in the durable queue. They are in
        the journal (durable) from the check on; this has the timeline worker store them
        now rather than with its next batch. False on timeout or while events are held."""
        analytics = self.analytics
        if analytics is None or not analytics.journal.pending:
            return True
        return bool(analytics.worker.process_pending(timeout))

    @property
    def values_reason(self) -> str:
        """Where the current values come from: Uninitialized, Loading, NoValues, Cache, Network..."""
        return "Uninitialized" if self._feature_store is None else self._feature_store.source

    @property
    def values_error(self) -> Optional[str]:
        """Why the last initialize fetch failed or was ignored (None after a good one), or
        why none can be made (no usable key: `not_ready_reason`)."""
        if self._api_key is None:
            return self.not_ready_reason
        return None if self._feature_store is None else self._feature_store.last_error
