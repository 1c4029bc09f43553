"""Statsig's rule evaluation over config specs, for one user and one spec, as Statsig's JS
on-device evaluator (@statsig/on-device-eval-core, Evaluator.ts) does it: rules in order,
every condition of a rule evaluated, the first passing rule decides (delegated to an
experiment, or bucketed by its pass percentage), nested gates leave secondary exposures.

Pure: a Result depends on the specs and the user only (and the clock, for current_time).
"""
from __future__ import annotations

import hashlib
import time

from ...filters.jsvalues import UNDEFINED, is_number, to_number, to_string, truthy
from . import conditions as c

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

    Exposure = Dict[str, str]

# Nested gates deeper than this are a cycle or a malformed spec: the spec answers Unsupported
# (JavaScript would overflow its stack and throw).
MAX_DEPTH = 64
_BUCKETS, _USER_BUCKETS = 10_000, 1_000
_COMPARISONS = {
    **dict.fromkeys(("gt", "gte", "lt", "lte"), c.compare_numbers),
    **dict.fromkeys(("version_gt", "version_gte", "version_lt", "version_lte", "version_eq", "version_neq"),
                    c.compare_versions),
    **dict.fromkeys(("any", "none", "str_starts_with_any", "str_ends_with_any", "str_contains_any",
                     "str_contains_none", "any_case_sensitive", "none_case_sensitive"), c.compare_string_in_array),
    **dict.fromkeys(("before", "after", "on"), c.compare_time),
    **dict.fromkeys(("array_contains_any", "array_contains_none", "array_contains_all", "not_array_contains_all"),
                    c.compare_arrays),
}


def user_hash(text: str) -> int:
    """The first 8 bytes of SHA-256 over the text, as an unsigned big-endian integer."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:8], "big")


def is_record(value: Any) -> bool:
    """JS's ``value != null && typeof value === 'object'``."""
    return isinstance(value, (dict, list))


class Result:
    """What evaluating one spec (or rule, or condition) gave."""

    __slots__ = ("unsupported", "bool_value", "rule_id", "secondary_exposures", "json_value", "explicit_parameters",
                 "allocated_experiment_name", "undelegated_secondary_exposures", "is_experiment_group", "group_name")

    def __init__(self, *, unsupported: bool = False, bool_value: bool = False, rule_id: Any = "",
                 secondary_exposures: Optional[List[Exposure]] = None, json_value: Any = None,
                 explicit_parameters: Any = None, allocated_experiment_name: Optional[str] = None,
                 undelegated_secondary_exposures: Optional[List[Exposure]] = None,
                 is_experiment_group: bool = False, group_name: Any = None) -> None:
        self.unsupported, self.bool_value, self.rule_id = unsupported, bool_value, rule_id
        self.secondary_exposures: List[Exposure] = secondary_exposures if secondary_exposures is not None else []
        self.json_value = json_value  # None: JavaScript's undefined (the reply writes {})
        self.explicit_parameters = explicit_parameters
        self.allocated_experiment_name = allocated_experiment_name
        self.undelegated_secondary_exposures = undelegated_secondary_exposures
        self.is_experiment_group, self.group_name = is_experiment_group, group_name


_UNSUPPORTED = Result(unsupported=True)


def _add_unique(into: List[Exposure], seen: set[str], exposures: List[Exposure]) -> None:
    for exposure in exposures:
        key = f"{exposure['gate']}|{exposure['gateValue']}|{exposure['ruleID']}"
        if key not in seen:
            seen.add(key)
            into.append(exposure)


class Evaluator:
    """Evaluates specs looked up by name in `specs`: {"gate" | "config" | "layer": {name: spec}}."""

    def __init__(self, specs: Dict[str, Dict[str, Dict[str, Any]]], now_ms: Any = None) -> None:
        self.specs = specs
        self.now_ms = now_ms or (lambda: int(time.time() * 1000))

    def spec(self, kind: str, name: Any) -> Optional[Dict[str, Any]]:
        return self.specs[kind].get(name) if isinstance(name, str) else None

    def evaluate(self, spec: Dict[str, Any], user: Dict[str, Any], depth: int = 0) -> Result:
        if depth > MAX_DEPTH:
            return _UNSUPPORTED
        default = spec.get("defaultValue") if is_record(spec.get("defaultValue")) else None
        if not truthy(spec.get("enabled")):
            return Result(json_value=default, rule_id="disabled")
        exposures: List[Exposure] = []
        seen: set[str] = set()
        for rule in _list(spec.get("rules")):
            rule = rule if isinstance(rule, dict) else {}
            result = self._rule(rule, user, depth)
            if result.unsupported:
                return result
            _add_unique(exposures, seen, result.secondary_exposures)
            if not result.bool_value:
                continue
            delegated = self._delegate(rule.get("configDelegate"), user, exposures, depth)
            if delegated is not None:
                return delegated
            passed = self._passes_percentage(rule, user, spec)
            return Result(rule_id=result.rule_id, bool_value=passed, json_value=result.json_value if passed else default,
                          secondary_exposures=exposures, undelegated_secondary_exposures=exposures,
                          is_experiment_group=result.is_experiment_group, group_name=result.group_name)
        return Result(json_value=default, secondary_exposures=exposures, undelegated_secondary_exposures=exposures,
                      rule_id="default")

    def _rule(self, rule: Dict[str, Any], user: Dict[str, Any], depth: int) -> Result:
        exposures: List[Exposure] = []
        passed = True
        for condition in _list(rule.get("conditions")):
            result = self._condition(condition if isinstance(condition, dict) else {}, user, depth)
            if result.unsupported:
                return result
            exposures.extend(result.secondary_exposures)
            passed = passed and result.bool_value
        return_value = rule.get("returnValue")
        return Result(rule_id=rule.get("id", UNDEFINED), bool_value=passed,
                      json_value=return_value if is_record(return_value) else None, secondary_exposures=exposures,
                      is_experiment_group=rule.get("isExperimentGroup") is True, group_name=rule.get("groupName"))

    def _condition(self, condition: Dict[str, Any], user: Dict[str, Any], depth: int) -> Result:
        kind, target = condition.get("type"), condition.get("targetValue", UNDEFINED)
        field, id_type = condition.get("field"), condition.get("idType", UNDEFINED)
        if kind == "public":
            return Result(bool_value=True)
        if kind in ("pass_gate", "fail_gate"):
            nested = self._nested_gate(to_string(target), user, depth)
            if nested.unsupported:
                return nested
            passed = nested.bool_value != (kind == "fail_gate")
            return Result(bool_value=passed, secondary_exposures=nested.secondary_exposures)
        if kind in ("multi_pass_gate", "multi_fail_gate"):
            return self._multi_gates(target, kind == "multi_pass_gate", user, depth)
        if kind in ("user_field", "ip_based", "ua_based"):
            value = c.user_field(user, field)
        elif kind == "environment_field":
            value = c.environment_field(user, field)
        elif kind == "current_time":
            value = self.now_ms()
        elif kind == "user_bucket":
            extra = condition.get("additionalValues")
            salt = extra.get("salt") if isinstance(extra, dict) else None
            salt_text = "" if c.nullish(salt) else to_string(salt)
            value = user_hash(salt_text + "." + _id_text(c.unit_id(user, id_type))) % _USER_BUCKETS
        elif kind == "unit_id":
            value = c.unit_id(user, id_type)
        else:  # target_app, and any type this evaluator does not know
            return _UNSUPPORTED
        operator = condition.get("operator")
        if operator in ("in_segment_list", "not_in_segment_list"):
            return _UNSUPPORTED
        if operator == "str_matches":
            return Result(bool_value=c.compare_regex(value, target))
        if operator in ("eq", "neq"):
            return Result(bool_value=c.loose_equal(value, target) == (operator == "eq"))
        if not isinstance(operator, str) or operator not in _COMPARISONS:
            return Result(bool_value=False)  # an operator JS does not know: false, not Unsupported
        return Result(bool_value=_COMPARISONS[operator](value, target, operator))

    def _delegate(self, name: Any, user: Dict[str, Any], exposures: List[Exposure], depth: int) -> Optional[Result]:
        if not truthy(name):
            return None
        spec = self.spec("config", name)
        if spec is None:
            return None
        result = self.evaluate(spec, user, depth + 1)
        merged: List[Exposure] = []
        _add_unique(merged, set(), exposures + result.secondary_exposures)
        return Result(unsupported=result.unsupported, bool_value=result.bool_value, rule_id=result.rule_id,
                      json_value=result.json_value, is_experiment_group=result.is_experiment_group,
                      group_name=result.group_name, allocated_experiment_name=name,
                      explicit_parameters=spec.get("explicitParameters"), secondary_exposures=merged,
                      undelegated_secondary_exposures=exposures)

    def _nested_gate(self, name: str, user: Dict[str, Any], depth: int) -> Result:
        exposures: List[Exposure] = []
        passed = False
        spec = self.spec("gate", name)
        if spec is not None:
            result = self.evaluate(spec, user, depth + 1)
            if result.unsupported:
                return result
            passed = result.bool_value
            exposures.extend(result.secondary_exposures)
            if not name.startswith("segment:"):
                exposures.append({"gate": name, "gateValue": "true" if passed else "false",
                                  "ruleID": _rule_id_text(result.rule_id)})
        return Result(bool_value=passed, secondary_exposures=exposures)

    def _multi_gates(self, names: Any, any_pass: bool, user: Dict[str, Any], depth: int) -> Result:
        if not isinstance(names, list):
            return _UNSUPPORTED
        exposures: List[Exposure] = []
        passed = False
        for name in names:
            if not isinstance(name, str):
                return _UNSUPPORTED
            result = self._nested_gate(name, user, depth)
            if result.unsupported:
                return result
            exposures.extend(result.secondary_exposures)
            if result.bool_value == any_pass:
                passed = True
                break
        return Result(bool_value=passed, secondary_exposures=exposures)

    def _passes_percentage(self, rule: Dict[str, Any], user: Dict[str, Any], spec: Dict[str, Any]) -> bool:
        percentage = rule.get("passPercentage", UNDEFINED)
        if is_number(percentage) and percentage == 100:
            return True
        if is_number(percentage) and percentage == 0:
            return False
        rule_salt = rule.get("salt", UNDEFINED)
        if c.nullish(rule_salt):
            rule_salt = rule.get("id", UNDEFINED)
        text = (to_string(spec.get("salt", UNDEFINED)) + "." + to_string(rule_salt) + "."
                + _id_text(c.unit_id(user, rule.get("idType", UNDEFINED))))
        return user_hash(text) % _BUCKETS < to_number(percentage) * 100  # NaN: never


def _list(value: Any) -> List[Any]:
    return value if isinstance(value, list) else []


def _id_text(unit: Any) -> str:
    return "" if c.nullish(unit) else to_string(unit)


def _rule_id_text(rule_id: Any) -> str:
    return "" if c.nullish(rule_id) else to_string(rule_id)
