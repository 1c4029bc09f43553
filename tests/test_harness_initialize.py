"""The fake Statsig's initialize replies, as real clients read them: gates, layers and the exposures our plugin logs."""
import json

from segment_statsig.testing.fake_statsig import djb2

from .harness_posts import JS_QUERY, KEY, js_post


# -- initialize replies as real clients read them --------------------------------------------------

def initialize(fake, body, query=JS_QUERY):
    r = js_post(fake, "/initialize", json.dumps(body), query=query)
    assert r.status_code == 200, r.text
    return r.json()


def test_initialize_reply_carries_what_clients_read(fake_statsig):
    fake_statsig.sdk_flags = {"enable_log_event_compression": True}
    user = {"userID": "alice", "customIDs": {"stableID": "s-1"}}
    reply = initialize(fake_statsig, {"user": user, "hash": "djb2", "statsigMetadata": {"stableID": "s-1"}})
    for key in ("feature_gates", "dynamic_configs", "layer_configs", "param_stores", "sdkParams"):
        assert reply[key] == {}
    assert reply["has_updates"] is True and reply["time"] == fake_statsig.config_time
    assert reply["hash_used"] == "djb2" and reply["user"] == user
    assert reply["evaluated_keys"] == {"userID": "alice", "customIDs": {"stableID": "s-1"}}
    assert reply["derived_fields"]["ip"] == "127.0.0.1" and "user_agent" in reply["derived_fields"]
    assert reply["sdk_flags"] == {"enable_log_event_compression": True}
    assert reply["hashed_sdk_key_used"] == djb2(KEY) and "is_delta" not in reply


def test_initialize_asking_for_deltas_gets_a_full_reply(fake_statsig):
    fake_statsig.set_gate("g", True)
    body = {"user": {"userID": "u"}, "hash": "djb2", "deltasResponseRequested": True,
            "sinceTime": fake_statsig.config_time, "full_checksum": "123", "previousDerivedFields": {}}
    reply = initialize(fake_statsig, body)
    assert reply["has_updates"] is True and "is_delta" not in reply
    assert reply["feature_gates"][djb2("g")]["value"] is True


def test_set_layer_with_an_allocated_experiment(fake_statsig):
    se = [{"gate": "employees", "gateValue": "true", "ruleID": "r"}]
    fake_statsig.set_layer("checkout", lambda user: ("Test" if user.get("userID") == "a" else None,
                                                     {"title": "Pay", "steps": 2}),
                           allocated_experiment=lambda user: "copy_exp" if user.get("userID") == "a" else None,
                           explicit_parameters=["title"], secondary_exposures=se,
                           undelegated_secondary_exposures=[])
    for_a = initialize(fake_statsig, {"user": {"userID": "a"}, "hash": "djb2"})["layer_configs"][djb2("checkout")]
    assert for_a == {
        "name": djb2("checkout"), "value": {"title": "Pay", "steps": 2}, "rule_id": "checkout:Test",
        "group": "checkout:Test", "group_name": "Test", "allocated_experiment_name": djb2("copy_exp"),
        "explicit_parameters": ["title"], "is_device_based": False, "is_experiment_active": True,
        "is_user_in_experiment": True, "secondary_exposures": se, "undelegated_secondary_exposures": []}
    for_b = initialize(fake_statsig, {"user": {"userID": "b"}, "hash": "none"})["layer_configs"]["checkout"]
    assert (for_b["rule_id"], for_b["allocated_experiment_name"], for_b["explicit_parameters"]) == ("default", "", ["title"])
    fake_statsig.set_layer("plain", {"x": 1}, rule_id="layer_rule", allocated_experiment="exp")
    plain = initialize(fake_statsig, {"user": {}, "hash": "none"})["layer_configs"]["plain"]
    assert (plain["rule_id"], plain["allocated_experiment_name"], plain["explicit_parameters"]) == ("layer_rule", "exp", ["x"])
    fake_statsig.remove("plain")
    assert "plain" not in initialize(fake_statsig, {"user": {}, "hash": "none"})["layer_configs"]


def test_our_plugin_reads_the_fakes_layer_and_logs_its_exposure(make_client, fake_statsig):
    fake_statsig.set_layer("checkout", {"title": "Pay", "steps": 2}, group_name="Test",
                           allocated_experiment="copy_exp", explicit_parameters=["title"])
    analytics, dest = make_client()
    assert dest.wait_for_values(5)
    layer = dest.get_layer("checkout")
    assert layer.get("title", "") == "Pay" and layer.get("steps", 0) == 2
    assert dest.flush_exposures(5) and analytics.flush(timeout=5)
    exposures = [(e["metadata"]["parameterName"], e["metadata"]["allocatedExperiment"],
                  e["metadata"]["isExplicitParameter"]) for e in fake_statsig.events
                 if e["eventName"] == "statsig::layer_exposure"]
    assert exposures == [("title", djb2("copy_exp"), "true"), ("steps", "", "false")]
