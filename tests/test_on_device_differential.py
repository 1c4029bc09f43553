"""The proof that OnDeviceEvaluator evaluates as Statsig does: seeded config specs and users
(tests/on_device_specs.py), >= 20,000 evaluations, run by Statsig's JS on-device client
(@statsig/js-on-device-eval-client 3.33.5, one node process), by Statsig's Python server SDK
(`statsig`, local mode, one process) and by ours, offline, on the same specs.

- ours and the JS client: the whole reply of every user, 0 differences (values, rule IDs,
  groups, allocated experiments, secondary and undelegated exposures, every field);
- ours and the Python SDK: value, rule ID, group name and allocated experiment, 0 differences;
- the edge cases where the two of Statsig's evaluators differ (docs/ON_DEVICE.md): ours is JS.

Another seed: SEGMENT_STATSIG_ON_DEVICE_SEED=7 ./dev test tests/test_on_device_differential.py
"""
import json
import os
from collections import Counter

from segment_statsig import OnDeviceEvaluator

from . import on_device_specs as generated
from .on_device_oracles import run_js, run_python_sdk

SEED = int(os.environ.get("SEGMENT_STATSIG_ON_DEVICE_SEED", "20261207"))
SPEC_SETS, USERS_PER_SET = 3, 240
SECTIONS = ("feature_gates", "dynamic_configs", "layer_configs")
COMPARED_WITH_PYTHON = ("value", "rule_id", "group_name", "allocated_experiment_name")
CONDITION_TYPES = {"public", "user_field", "pass_gate", "fail_gate", "multi_pass_gate", "multi_fail_gate",
                   "user_bucket", "unit_id", "environment_field", "current_time", "ip_based", "ua_based"}
OPERATORS = {"gt", "gte", "lt", "lte", "version_gt", "version_gte", "version_lt", "version_lte", "version_eq",
             "version_neq", "any", "none", "any_case_sensitive", "none_case_sensitive", "str_starts_with_any",
             "str_ends_with_any", "str_contains_any", "str_contains_none", "str_matches", "eq", "neq", "before",
             "after", "on", "array_contains_any", "array_contains_none", "array_contains_all", "not_array_contains_all"}


def _without_origin(reply):
    return {k: v for k, v in reply.items() if k not in ("generator", "sdkInfo")}


def _conditions(specs):
    for section in SECTIONS:
        for spec in specs[section]:
            for rule in spec["rules"]:
                yield from rule["conditions"]


def test_ours_agrees_with_statsigs_js_and_python_evaluators():
    evaluations, outcomes, types, operators = 0, Counter(), set(), set()
    js_differences, python_differences = [], []
    for n in range(SPEC_SETS):
        specs = generated.agreed(SEED + n)
        users = generated.users(SEED + n, USERS_PER_SET)
        text = generated.text(specs)
        js, python = run_js(text, users), run_python_sdk(text, users)
        evaluator = OnDeviceEvaluator(text)
        for user, theirs_js, theirs_py in zip(users, js, python):
            ours = evaluator.client_initialize_response(user, hash_used="none")
            if _without_origin(ours) != _without_origin(theirs_js):
                js_differences.append((user, [(s, k) for s in SECTIONS for k in ours[s]
                                              if ours[s][k] != theirs_js[s].get(k)]))
            for section in SECTIONS:
                assert set(ours[section]) == set(theirs_py[section])
                for name, item in ours[section].items():
                    evaluations += 1
                    outcomes[(section, item["rule_id"] in ("default", "disabled"), bool(item["secondary_exposures"]))] += 1
                    other = theirs_py[section][name]
                    if any(item.get(key) != other.get(key) for key in COMPARED_WITH_PYTHON):
                        python_differences.append((name, user, item, other))
        for condition in _conditions(specs):
            types.add(condition["type"])
            operators.add(condition.get("operator"))
    assert evaluations >= 20_000
    assert types == CONDITION_TYPES and OPERATORS <= operators, (CONDITION_TYPES - types, OPERATORS - operators)
    # the cases are not all alike: rules pass and fail, with and without nested gates
    assert all(outcomes[(s, d, e)] > 50 for s in SECTIONS[:2] for d in (True, False) for e in (True, False)), outcomes
    assert not js_differences, f"{len(js_differences)} users differ from the JS client, first: {js_differences[0]}"
    assert not python_differences, (f"{len(python_differences)} of {evaluations} evaluations differ from the Python "
                                    f"SDK, first: {json.dumps(python_differences[0])}")


def test_edge_cases_follow_the_js_client():
    specs, users = generated.edges(SEED)
    text = generated.text(specs)
    js = run_js(text, users)
    evaluator = OnDeviceEvaluator(text)
    differing = [(user, name) for user, theirs in zip(users, js)
                 for name, item in evaluator.client_initialize_response(user, "none")["feature_gates"].items()
                 if item != theirs["feature_gates"][name]]
    assert not differing, differing[:3]
    assert set(generated.EDGE_CONDITIONS) < set(js[0]["feature_gates"])


def test_hashed_names_match_the_js_client():
    specs = generated.agreed(SEED)
    users = generated.users(SEED, 5)
    text = generated.text(specs)
    for hash_used in ("djb2", "sha256"):
        ours = [_without_origin(OnDeviceEvaluator(text).client_initialize_response(u, hash_used)) for u in users]
        assert ours == [_without_origin(reply) for reply in run_js(text, users, hash_used)]
