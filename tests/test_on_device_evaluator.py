"""OnDeviceEvaluator as an API: what it accepts, what it refuses (ValueError / TypeError only),
that any JSON user gets a reply the destination reads, that a nested-gate cycle ends, and that
threads sharing one evaluator get the answers one thread gets. (Agreement with Statsig's own
evaluators: tests/test_on_device_differential.py.)"""
import json
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segment_statsig import OnDeviceEvaluator
from segment_statsig.statsig.evaluation import from_spec
from segment_statsig.statsig.initialize_reply import lookup, parse_reply

from . import on_device_specs as generated

SPECS = generated.agreed(5)
json_values = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
                           | st.text(max_size=12), lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
user_keys = st.sampled_from(["userID", "email", "ip", "userAgent", "country", "locale", "appVersion", "custom",
                             "privateAttributes", "customIDs", "statsigEnvironment", "plan", "tags"])


@pytest.mark.parametrize("specs, error", [
    ("{not json", ValueError), ([], TypeError), (42, TypeError), ({"feature_gates": []}, ValueError),
    ({"has_updates": True, "feature_gates": {"a": {}}}, ValueError), ({"has_updates": True, "dynamic_configs": [1]}, ValueError),
])
def test_specs_that_are_not_config_specs_are_refused(specs, error):
    with pytest.raises(error):
        OnDeviceEvaluator(specs)


def test_a_user_that_is_not_a_dict_and_an_unknown_hash_are_refused():
    evaluator = OnDeviceEvaluator(SPECS)
    with pytest.raises(TypeError):
        evaluator.client_initialize_response(["u1"])
    with pytest.raises(ValueError):
        evaluator.client_initialize_response({"userID": "u1"}, hash_used="md5")


def test_json_text_and_dict_give_the_same_reply_and_the_caller_s_user_is_not_changed():
    user = generated.users(5, 1)[0]
    before = json.dumps(user, sort_keys=True)
    by_text = OnDeviceEvaluator(generated.text(SPECS)).client_initialize_response(user)
    assert by_text == OnDeviceEvaluator(SPECS).client_initialize_response(user)
    assert json.dumps(user, sort_keys=True) == before
    assert by_text["time"] == SPECS["time"] and by_text["hash_used"] == "djb2"


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(user_keys, json_values, max_size=6))
def test_any_json_user_gets_a_reply_the_destination_reads(user):
    reply = OnDeviceEvaluator(SPECS).client_initialize_response(user)
    parsed = parse_reply(json.dumps(reply))
    for spec in SPECS["feature_gates"][1:]:
        evaluation = from_spec("gate", spec["name"], lookup(parsed, "gate", spec["name"]), "Bootstrap", parsed["time"])
        assert evaluation.recognized and isinstance(evaluation.value, bool)
    for spec in SPECS["layer_configs"]:
        assert lookup(parsed, "layer", spec["name"]) is not None


def test_a_cycle_of_nested_gates_ends_unsupported():
    def gate(name, other):
        return {"name": name, "type": "feature_gate", "entity": "feature_gate", "salt": name, "enabled": True,
                "defaultValue": False, "idType": "userID",
                "rules": [{"id": f"{name}:r", "salt": "r", "idType": "userID", "passPercentage": 100, "returnValue": True,
                           "conditions": [{"type": "pass_gate", "targetValue": other}]}]}
    specs = {"has_updates": True, "time": 1, "feature_gates": [gate("a", "b"), gate("b", "a")],
             "dynamic_configs": [], "layer_configs": []}
    reply = OnDeviceEvaluator(specs).client_initialize_response({"userID": "u"}, hash_used="none")
    assert reply["feature_gates"]["a"]["value"] is False and reply["feature_gates"]["a"]["rule_id"] == "default"


def test_threads_sharing_one_evaluator_get_what_one_thread_gets():
    evaluator = OnDeviceEvaluator(SPECS)
    users = generated.users(9, 40)
    expected = [json.dumps(evaluator.client_initialize_response(u)) for u in users]
    got = {}

    def work(k):
        got[k] = [json.dumps(evaluator.client_initialize_response(u)) for u in users]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(got[k] == expected for k in range(4))
