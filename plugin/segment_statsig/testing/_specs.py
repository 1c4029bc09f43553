"""What the fake's download_config_specs serves: the gates, configs, experiments and layers a
test configured, written as Statsig's config specs (format v1), so an on-device evaluator
gives every user what the fake's initialize would give.

A value given as a constant becomes a rule every user passes (a gate set to False: no rule);
a value given as a callable(user) cannot be written as rules, so the spec answers its
default ({} / False) and a test that needs more serves specs of its own
(``FakeStatsig.set_config_specs``).
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from ._values import Spec, Values

_PUBLIC = [{"type": "public", "idType": "userID"}]


def _rule(rule_id: str, value: Any, *, group: Any = None, delegate: Optional[str] = None) -> Dict[str, Any]:
    rule: Dict[str, Any] = {"name": rule_id, "id": rule_id, "salt": rule_id, "idType": "userID", "passPercentage": 100,
                            "conditions": _PUBLIC, "returnValue": value}
    if group is not None:
        rule["groupName"], rule["isExperimentGroup"] = group, True
    if delegate is not None:
        rule["configDelegate"] = delegate
    return rule


def _spec(name: str, kind: str, entity: str, default: Any, rules: List[Dict[str, Any]], id_type: str,
          **extra: Any) -> Dict[str, Any]:
    return {"name": name, "type": kind, "entity": entity, "salt": name, "enabled": True, "defaultValue": default,
            "idType": id_type, "rules": rules, **extra}


def _constant(spec: Spec) -> bool:
    return not any(callable(v) for v in (spec.value, spec.rule_id, spec.group_name, spec.allocated_experiment))


def _value_and_group(spec: Spec) -> tuple[Dict[str, Any], Any]:
    value, group = spec.value, spec.group_name
    if isinstance(value, tuple):
        group, value = value
    return (dict(value) if isinstance(value, dict) else {}), group


def _rule_id(spec: Spec, name: str, group: Any) -> str:
    """The rule ID the fake's initialize gives (testing/_values.py)."""
    if spec.rule_id is not None:
        return str(spec.rule_id)
    return f"{name}:{group}" if group else "default"


def config_specs(values: Values, time: int) -> Dict[str, Any]:
    """Config specs for what `values` holds now."""
    gates, configs, layers = values.snapshot()
    feature_gates = []
    for name, spec in gates.items():
        on = _constant(spec) and bool(spec.value)
        rules = [_rule(str(spec.rule_id or f"{name}:on"), True)] if on else []
        feature_gates.append(_spec(name, "feature_gate", "feature_gate", False, rules, spec.id_type))
    dynamic_configs = []
    for name, spec in configs.items():
        rules = []
        if _constant(spec):
            value, group = _value_and_group(spec)
            rules = [_rule(_rule_id(spec, name, group), value, group=group)]
        entity = "experiment" if spec.is_experiment else "dynamic_config"
        dynamic_configs.append(_spec(name, "dynamic_config", entity, {}, rules, spec.id_type, isActive=True))
    layer_configs, layer_members = [], {}
    for name, spec in layers.items():
        rules = []
        allocated = spec.allocated_experiment if _constant(spec) else None
        if _constant(spec):
            value, group = _value_and_group(spec)
            delegate = str(allocated) if allocated and allocated in configs else None
            rules = [_rule(_rule_id(spec, name, group), value, group=group, delegate=delegate)]
        layer_members[name] = [str(allocated)] if allocated else []
        explicit = spec.explicit_parameters if isinstance(spec.explicit_parameters, list) else []
        layer_configs.append(_spec(name, "dynamic_config", "layer", {}, rules, spec.id_type,
                                   explicitParameters=explicit))
    return {"has_updates": True, "time": time, "feature_gates": feature_gates, "dynamic_configs": dynamic_configs,
            "layer_configs": layer_configs, "layers": layer_members, "id_lists": {},
            "generator": "segment_statsig.testing.FakeStatsig"}
