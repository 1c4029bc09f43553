"""What the fake's initialize serves: the gates, dynamic configs, experiments and layers a
test configures, evaluated for one user and written as Statsig's client initialize reply
(the ``init-v1`` format that ``@statsig/js-client`` and our plugin read), names hashed as
the request's ``hash`` asks.

The reply carries every field Statsig's servers send that a client reads: the three
sections, ``param_stores``, ``has_updates``, ``time``, ``hash_used``, ``user``,
``evaluated_keys``, ``derived_fields``, ``sdk_flags``, ``sdkParams``. It is always a full
reply (never ``is_delta``), so a client asking for deltas (``sinceTime``,
``deltasResponseRequested``) takes it as a whole.
"""
from __future__ import annotations

import base64
import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Union

__all__ = ["Values", "Spec", "djb2", "hash_name", "HASHES"]

User = Dict[str, Any]
#: a constant, or a function of the request's user
Resolvable = Union[Any, Callable[[User], Any]]
Exposures = List[Dict[str, str]]
HASHES = ("djb2", "sha256", "none")


def djb2(text: str) -> str:
    """Statsig's djb2 name hash (UTF-16 code units, from 0, unsigned 32-bit, decimal)."""
    data = text.encode("utf-16-le")
    h = 0
    for i in range(0, len(data), 2):
        h = (h * 31 + (data[i] | data[i + 1] << 8)) & 0xFFFFFFFF
    return str(h)


def hash_name(name: str, algorithm: str) -> str:
    if algorithm == "djb2":
        return djb2(name)
    if algorithm == "sha256":
        return base64.b64encode(hashlib.sha256(name.encode("utf-8")).digest()).decode("ascii")
    return name


def _resolve(value: Resolvable, user: User) -> Any:
    return value(user) if callable(value) else value


@dataclass
class Spec:
    """One configured name (gate, config/experiment or layer) before evaluation."""

    value: Resolvable
    rule_id: Resolvable = None
    group_name: Resolvable = None
    id_type: str = "userID"
    secondary_exposures: Exposures = field(default_factory=list)
    is_experiment: bool = False
    allocated_experiment: Resolvable = None
    explicit_parameters: Resolvable = None
    undelegated_secondary_exposures: Exposures = field(default_factory=list)


class Values:
    """The configured names, safe to change from a test while the server answers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gates: Dict[str, Spec] = {}
        self._configs: Dict[str, Spec] = {}
        self._layers: Dict[str, Spec] = {}
        self._param_stores: Dict[str, Dict[str, Any]] = {}

    def set_gate(self, name: str, spec: Spec) -> None:
        with self._lock:
            self._gates[name] = spec

    def set_config(self, name: str, spec: Spec) -> None:
        with self._lock:
            self._configs[name] = spec

    def set_layer(self, name: str, spec: Spec) -> None:
        with self._lock:
            self._layers[name] = spec

    def set_param_store(self, name: str, parameters: Dict[str, Any]) -> None:
        with self._lock:
            self._param_stores[name] = dict(parameters)

    def snapshot(self) -> tuple[Dict[str, Spec], Dict[str, Spec], Dict[str, Spec]]:
        """(gates, configs, layers) as they are now."""
        with self._lock:
            return dict(self._gates), dict(self._configs), dict(self._layers)

    def remove(self, name: str) -> None:
        with self._lock:
            for table in (self._gates, self._configs, self._layers, self._param_stores):
                table.pop(name, None)

    def reply(self, user: User, hash_used: str = "djb2", *, time: int, sdk_key: Optional[str] = None,
              sdk_flags: Optional[Dict[str, bool]] = None,
              derived_fields: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """The initialize reply for ``user``, hashed with ``hash_used`` (djb2 when unknown)."""
        if hash_used not in HASHES:
            hash_used = "djb2"
        with self._lock:
            gates, configs, layers = dict(self._gates), dict(self._configs), dict(self._layers)
            stores = {n: dict(p) for n, p in self._param_stores.items()}
        found = user.get("customIDs")
        custom_ids: Dict[str, Any] = found if isinstance(found, dict) else {}
        reply: Dict[str, Any] = {
            "feature_gates": {hash_name(n, hash_used): _gate(n, s, user, hash_used) for n, s in gates.items()},
            "dynamic_configs": {hash_name(n, hash_used): _config(n, s, user, hash_used) for n, s in configs.items()},
            "layer_configs": {hash_name(n, hash_used): _layer(n, s, user, hash_used) for n, s in layers.items()},
            "param_stores": {hash_name(n, hash_used): p for n, p in stores.items()},
            "sdkParams": {},
            "has_updates": True,
            "time": time,
            "company_lcut": time,
            "hash_used": hash_used,
            "user": user,
            "evaluated_keys": {"userID": user.get("userID"), "customIDs": dict(custom_ids)},
            "derived_fields": dict(derived_fields or {}),
            "sdk_flags": dict(sdk_flags or {}),
            "generator": "segment_statsig.testing.FakeStatsig",
        }
        if sdk_key:
            reply["hashed_sdk_key_used"] = djb2(sdk_key)
        return reply


def _gate(name: str, spec: Spec, user: User, hash_used: str) -> Dict[str, Any]:
    value = bool(_resolve(spec.value, user))
    rule = _resolve(spec.rule_id, user)
    return {"name": hash_name(name, hash_used), "value": value,
            "rule_id": rule if rule is not None else (f"{name}:on" if value else "default"),
            "id_type": spec.id_type, "secondary_exposures": list(spec.secondary_exposures)}


def _value_and_group(spec: Spec, user: User) -> tuple[Dict[str, Any], Any]:
    value = _resolve(spec.value, user)
    group = _resolve(spec.group_name, user)
    if isinstance(value, tuple):
        group, value = value
    return dict(value or {}), group


def _rule(spec: Spec, name: str, group: Any, user: User) -> str:
    rule = _resolve(spec.rule_id, user)
    if rule is not None:
        return str(rule)
    return f"{name}:{group}" if group else "default"


def _config(name: str, spec: Spec, user: User, hash_used: str) -> Dict[str, Any]:
    value, group = _value_and_group(spec, user)
    rule = _rule(spec, name, group, user)
    entry: Dict[str, Any] = {
        "name": hash_name(name, hash_used), "value": value, "rule_id": rule, "group": rule,
        "is_device_based": spec.id_type == "stableID", "id_type": spec.id_type,
        "secondary_exposures": list(spec.secondary_exposures)}
    if spec.is_experiment:
        entry.update({"is_experiment_active": True, "is_user_in_experiment": group is not None})
    if group is not None:
        entry["group_name"] = group
    return entry


def _layer(name: str, spec: Spec, user: User, hash_used: str) -> Dict[str, Any]:
    value, group = _value_and_group(spec, user)
    rule = _rule(spec, name, group, user)
    allocated = _resolve(spec.allocated_experiment, user)
    explicit = _resolve(spec.explicit_parameters, user)
    if explicit is None:  # an allocated experiment owns the layer's parameters unless told
        explicit = sorted(value) if allocated else []
    entry: Dict[str, Any] = {
        "name": hash_name(name, hash_used), "value": value, "rule_id": rule, "group": rule,
        # Statsig's servers hash the experiment's name like every other name in the reply
        "allocated_experiment_name": hash_name(str(allocated), hash_used) if allocated else "",
        "explicit_parameters": list(explicit),
        "is_device_based": spec.id_type == "stableID",
        "is_experiment_active": bool(allocated), "is_user_in_experiment": bool(allocated),
        "secondary_exposures": list(spec.secondary_exposures),
        "undelegated_secondary_exposures": list(spec.undelegated_secondary_exposures)}
    if group is not None:
        entry["group_name"] = group
    return entry
