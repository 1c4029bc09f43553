"""OnDeviceEvaluator: Statsig's config specs (the download_config_specs reply, format v1) in,
the initialize reply of any user out, built as Statsig's JS on-device client builds it
(getClientInitializeResponse, GCIRFormatter.ts), so the code that reads a server's
initialize reply (statsig/initialize_reply.py, evaluation.py) reads this one too.

Pure and thread-safe: the specs are read once and never changed; no I/O. Param stores,
session replay, target apps and segment lists are not evaluated.
"""
from __future__ import annotations

import json
from collections.abc import Mapping as AnyMapping

from ...filters.jsvalues import to_string, truthy
from ...version import __version__
from ..initialize_reply import djb2, hash_name
from .evaluator import Evaluator, Result, is_record

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, List, Mapping, Union

HASHES = ("djb2", "sha256", "none")
_SECTIONS = {"gate": "feature_gates", "config": "dynamic_configs", "layer": "layer_configs"}


def parse_specs(specs: Union[str, bytes, Mapping[str, Any]]) -> Dict[str, Any]:
    """The config specs as a dict; ValueError / TypeError when they are not config specs."""
    if isinstance(specs, (str, bytes)):
        try:
            specs = json.loads(specs)
        except ValueError as error:
            raise ValueError(f"config specs are not JSON: {error}") from None
    if not isinstance(specs, dict):
        raise TypeError(f"config specs must be a dict or its JSON text, not {type(specs).__name__}")
    if specs.get("has_updates") is not True:
        raise ValueError("config specs without has_updates: true hold no specs")
    for section in _SECTIONS.values():
        block = specs.get(section, [])
        if not isinstance(block, list) or not all(isinstance(spec, dict) for spec in block):
            raise ValueError(f"config specs: {section!r} must be a list of objects")
    return dict(specs)


class OnDeviceEvaluator:
    """``OnDeviceEvaluator(specs).client_initialize_response(user)``: the initialize reply
    for `user` (a Statsig user dict: userID, customIDs, email, …, custom, privateAttributes,
    statsigEnvironment)."""

    def __init__(self, specs: Union[str, bytes, Mapping[str, Any]]) -> None:
        self.specs = parse_specs(specs)
        by_name: Dict[str, Dict[str, Dict[str, Any]]] = {}
        for kind, section in _SECTIONS.items():
            named: Dict[str, Dict[str, Any]] = {}
            for spec in self.specs.get(section, []):
                named.setdefault(spec.get("name"), spec)  # the first of a name answers, as JS's find()
            by_name[kind] = named
        self.evaluator = Evaluator(by_name)
        time = self.specs.get("time")
        self.time: int = time if isinstance(time, int) and not isinstance(time, bool) else 0
        self._layer_of: Dict[str, str] = {}
        layers = self.specs.get("layers")
        for layer, experiments in (layers.items() if isinstance(layers, dict) else ()):
            for experiment in experiments if isinstance(experiments, list) else ():
                self._layer_of.setdefault(experiment, layer)

    def client_initialize_response(self, user: Mapping[str, Any], hash_used: str = "djb2") -> Dict[str, Any]:
        if not isinstance(user, AnyMapping):
            raise TypeError(f"user must be a Statsig user dict, not {type(user).__name__}")
        if hash_used not in HASHES:
            raise ValueError(f"hash_used must be one of {HASHES}, not {hash_used!r}")
        person = json.loads(json.dumps(dict(user)))  # a copy, as JS clones the user (JSON values only)
        environment = self.specs.get("default_environment")
        if environment is not None:
            person["statsigEnvironment"] = {"tier": environment}
        reply: Dict[str, Any] = {
            "feature_gates": self._gates(person, hash_used),
            "dynamic_configs": self._configs(person, hash_used),
            "layer_configs": self._layers(person, hash_used),
            "sdkParams": {},
            "has_updates": True,
            "generator": "segment-statsig-on-device",
            "sdkInfo": {"sdkType": "segment-statsig-python", "sdkVersion": __version__},
            "time": self.time,
            "evaluated_keys": {},
            "hash_used": hash_used,
        }
        if truthy(person.get("userID")):
            reply["evaluated_keys"]["userID"] = person["userID"]
        if isinstance(person.get("customIDs"), dict) and person["customIDs"]:
            reply["evaluated_keys"]["customIDs"] = person["customIDs"]
        private = person.pop("privateAttributes", None)
        reply["user"] = person
        if isinstance(private, dict) and private:
            reply["pa_hash"] = _private_hash(private)
        return reply

    # --- one section each ------------------------------------------------------------
    def _gates(self, user: Dict[str, Any], hash_used: str) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for spec in self.specs.get("feature_gates", []):
            if spec.get("entity") in ("segment", "holdout"):
                continue
            item = self._item(spec, self.evaluator.evaluate(spec, user), hash_used)
            out[item["name"]] = item
        return out

    def _configs(self, user: Dict[str, Any], hash_used: str) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for spec in self.specs.get("dynamic_configs", []):
            result = self.evaluator.evaluate(spec, user)
            item = self._item(spec, result, hash_used)
            entity = spec.get("entity")
            if entity not in ("dynamic_config", "autotune"):
                item["is_user_in_experiment"] = result.is_experiment_group
                item["is_experiment_active"] = spec.get("isActive") is True
                if truthy(spec.get("hasSharedParams")):
                    item["is_in_layer"] = True
                    item["explicit_parameters"] = _or_list(spec.get("explicitParameters"))
                    layer = self.evaluator.spec("layer", self._layer_of.get(spec.get("name")))
                    if layer is not None:  # the layer's defaults under the experiment's values
                        defaults = layer.get("defaultValue")
                        item["value"] = {**(defaults if isinstance(defaults, dict) else {}),
                                         **(item["value"] if isinstance(item["value"], dict) else {})}
            out[item["name"]] = item
        return out

    def _layers(self, user: Dict[str, Any], hash_used: str) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for spec in self.specs.get("layer_configs", []):
            result = self.evaluator.evaluate(spec, user)
            item = self._item(spec, result, hash_used)
            explicit = spec.get("explicitParameters")
            item["explicit_parameters"] = explicit if explicit is not None else []
            delegate = self.evaluator.spec("config", result.allocated_experiment_name)
            if result.allocated_experiment_name and delegate is not None:
                inner = self.evaluator.evaluate(delegate, user)
                if truthy(inner.group_name):
                    item["group_name"] = inner.group_name
                item["allocated_experiment_name"] = hash_name(result.allocated_experiment_name, hash_used)
                item["is_experiment_active"] = delegate.get("isActive") is True
                item["is_user_in_experiment"] = inner.is_experiment_group
                item["explicit_parameters"] = _or_list(delegate.get("explicitParameters"))
                if inner.undelegated_secondary_exposures is not None:
                    item["undelegated_secondary_exposures"] = _hashed(inner.undelegated_secondary_exposures, hash_used)
            elif not result.allocated_experiment_name:
                item["undelegated_secondary_exposures"] = _hashed(result.undelegated_secondary_exposures or [],
                                                                  hash_used)
            out[item["name"]] = item
        return out

    @staticmethod
    def _item(spec: Dict[str, Any], result: Result, hash_used: str) -> Dict[str, Any]:
        entity = spec.get("entity")
        if entity == "feature_gate":
            value: Any = result.bool_value
        else:
            value = {} if result.unsupported or not truthy(result.json_value) else result.json_value
        item: Dict[str, Any] = {"name": hash_name(to_string(spec.get("name")), hash_used), "value": value,
                                "rule_id": result.rule_id if truthy(result.rule_id) else "default",
                                "secondary_exposures": _hashed(result.secondary_exposures, hash_used)}
        if spec.get("idType") is not None:
            item["id_type"] = spec["idType"]
        if truthy(result.group_name):
            item["group_name"] = result.group_name
        if entity != "feature_gate":
            item["group"] = result.group_name if truthy(result.group_name) else ""
            item["is_device_based"] = False
            if entity not in ("dynamic_config", "autotune", "layer"):
                if spec.get("isActive") is not None:
                    item["is_experiment_active"] = spec["isActive"]
                item["is_user_in_experiment"] = result.is_experiment_group
            item["passed"] = result.bool_value
        return item


def _or_list(value: Any) -> Any:
    return value if truthy(value) else []


def _hashed(exposures: List[Dict[str, str]], hash_used: str) -> List[Dict[str, str]]:
    return [dict(exposure, gate=hash_name(exposure["gate"], hash_used)) for exposure in exposures]


def _private_hash(private: Dict[str, Any]) -> str:
    """pa_hash: the djb2 of each "key:value" summed in 32 bits, as JS's hashPrivateAttributes."""
    total = 0
    for key, value in private.items():
        total = (total + int(djb2(f"{key}:{'' if value is None else to_string(value)}"))) & 0xFFFFFFFF
        total -= (total >> 31) << 32  # JavaScript's &= leaves a signed 32-bit number
    return str(total)
