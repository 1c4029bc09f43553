"""Exposure events as Statsig's client SDKs log them, built as pure functions (apart
from the store's state, as @statsig/client-core's StatsigEvent does), and the rule for
when one is logged again."""
from __future__ import annotations

import json

from .evaluation import Evaluation

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, Hashable, List, Optional

GATE_EXPOSURE = "statsig::gate_exposure"
CONFIG_EXPOSURE = "statsig::config_exposure"
LAYER_EXPOSURE = "statsig::layer_exposure"


def gate_or_config_exposure(ev: Evaluation, user: Optional[Dict[str, Any]], time_ms: int) -> Dict[str, Any]:
    """statsig::gate_exposure for a gate, statsig::config_exposure for a config or experiment."""
    if ev.kind == "gate":
        metadata = {"gate": ev.name, "gateValue": "true" if ev.value else "false", "ruleID": ev.rule_id}
        return _event(GATE_EXPOSURE, metadata, ev, ev.secondary_exposures, user, time_ms)
    return _event(CONFIG_EXPOSURE, {"config": ev.name, "ruleID": ev.rule_id}, ev, ev.secondary_exposures,
                  user, time_ms)


def layer_exposure(ev: Evaluation, parameter: str, user: Optional[Dict[str, Any]], time_ms: int) -> Dict[str, Any]:
    """statsig::layer_exposure for reading `parameter`: an explicit parameter exposes the
    experiment the layer allocated the user to, any other its undelegated exposures."""
    explicit = parameter in ev.explicit_parameters
    metadata = {"config": ev.name, "parameterName": parameter, "ruleID": ev.rule_id,
                "allocatedExperiment": ev.allocated_experiment if explicit else "",
                "isExplicitParameter": "true" if explicit else "false"}
    secondary = ev.secondary_exposures if explicit else ev.undelegated_secondary_exposures
    return _event(LAYER_EXPOSURE, metadata, ev, secondary, user, time_ms)


def _event(name: str, metadata: Dict[str, Any], ev: Evaluation, secondary: List[Dict[str, Any]],
           user: Optional[Dict[str, Any]], time_ms: int) -> Dict[str, Any]:
    if ev.bootstrap_metadata:  # as the JS client: the reply's user, generator and lcut, as an object
        metadata["bootstrapMetadata"] = dict(ev.bootstrap_metadata)
    metadata["reason"] = ev.reason
    if ev.time:
        metadata["lcut"] = str(ev.time)
    if ev.received_at:  # as Statsig's client SDKs: when the values the answer came from arrived
        metadata["receivedAt"] = str(ev.received_at)
    # `user` None: the store fills in the user the values were fetched for, on its thread.
    return {"eventName": name, "user": user, "time": time_ms, "metadata": metadata,
            "secondaryExposures": list(secondary)}


def dedupe_key(user_key: str, ev: Evaluation, parameter: Optional[str] = None) -> Hashable:
    """What makes two exposures the same one: the user, the name, the value (or the
    layer parameter read), the rule and the reason (an override is a new exposure)."""
    reason = (ev.forced_reason, ev.evaluation_reason, ev.recognized)  # what ev.reason is made of, unjoined
    if ev.kind == "layer":
        return (user_key, "layer", ev.name, parameter, ev.rule_id, reason)
    value: Any = str(ev.value) if ev.kind == "gate" else json.dumps(ev.value, sort_keys=True, default=str)
    return (user_key, ev.kind, ev.name, value, ev.rule_id, reason)


class Deduper:
    """Log an exposure once per key, again after `seconds` (Statsig's clients: 10 minutes)."""

    def __init__(self, seconds: float = 600.0, max_keys: int = 1000) -> None:
        self.seconds = seconds
        self.max_keys = max_keys
        self._seen: Dict[Hashable, float] = {}

    def first_time(self, key: Hashable, now: float) -> bool:
        """Call with a lock held (the store's)."""
        seen = self._seen.get(key)
        if seen is not None and now - seen < self.seconds:
            return False
        if len(self._seen) >= self.max_keys:
            self._seen.clear()
        self._seen[key] = now
        return True
