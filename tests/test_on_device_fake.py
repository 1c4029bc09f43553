"""FakeStatsig serves config specs (GET /v1/download_config_specs?k=…, the URL shape of
Statsig's JS on-device client): made from the gates, configs, experiments and layers a test
set, so that evaluating them on the device gives what the fake's initialize gives; or set
directly; ``{"has_updates": false}`` to a client that already has them."""
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from segment_statsig import OnDeviceEvaluator
from segment_statsig.statsig.initialize_reply import lookup

from .on_device_specs import agreed

KEYS = ("value", "rule_id", "group_name")


def _get(fake, **query):
    return requests.get(f"{fake.url}/download_config_specs", params=query, timeout=5)


def test_specs_made_from_the_fake_s_values_answer_as_its_initialize(fake_statsig):
    fake_statsig.set_gate("on_gate", True)
    fake_statsig.set_gate("off_gate", False)
    fake_statsig.set_gate("rule_gate", True, rule_id="rule-7")
    fake_statsig.set_config("colors", {"primary": "blue"})
    fake_statsig.set_experiment("checkout", {"button": "green"}, group_name="Test")
    fake_statsig.set_layer("layout", {"button": "green"}, allocated_experiment="checkout", explicit_parameters=["button"])
    reply = _get(fake_statsig, k="client-key")
    assert reply.status_code == 200
    specs = reply.json()
    user = {"userID": "u1", "customIDs": {"stableID": "d1"}}
    ours = OnDeviceEvaluator(specs).client_initialize_response(user)
    theirs = fake_statsig.evaluate_for(user)
    for kind, name in [("gate", "on_gate"), ("gate", "off_gate"), ("gate", "rule_gate"), ("config", "colors"),
                       ("config", "checkout"), ("layer", "layout")]:
        mine, fake = lookup(ours, kind, name), lookup(theirs, kind, name)
        assert mine is not None and fake is not None, name
        # a layer that delegates answers with its experiment's rule and group (as Statsig's
        # evaluators do); the fake's initialize keeps the layer's own
        keys = KEYS if kind != "layer" else ("value",)
        assert {k: mine.get(k) for k in keys} == {k: fake.get(k) for k in keys}, name
    assert lookup(ours, "layer", "layout")["allocated_experiment_name"] == lookup(theirs, "layer", "layout")[
        "allocated_experiment_name"]
    [request] = fake_statsig.config_specs_requests
    assert request.api_key == "client-key" and request.method == "GET"


def test_a_value_that_depends_on_the_user_is_served_as_its_default(fake_statsig):
    fake_statsig.set_gate("by_user", lambda user: user.get("userID") == "u1")
    specs = _get(fake_statsig, k="client-key").json()
    [gate] = [g for g in specs["feature_gates"] if g["name"] == "by_user"]
    assert gate["rules"] == [] and gate["defaultValue"] is False


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 1000))
def test_specs_set_directly_are_served_as_set_and_not_again_to_a_client_that_has_them(seed):
    from segment_statsig.testing import FakeStatsig
    with FakeStatsig() as fake:
        specs = agreed(seed)
        fake.set_config_specs(specs)
        assert _get(fake, k="client-key").json() == specs
        assert _get(fake, k="client-key", sinceTime=str(specs["time"])).json() == {"has_updates": False}
        assert _get(fake, k="client-key", sinceTime=str(specs["time"] - 1)).json() == specs
        fake.set_config_specs(None)
        assert _get(fake, k="client-key").json()["feature_gates"] == []


def test_without_a_key_or_while_offline_the_specs_are_refused(fake_statsig):
    assert _get(fake_statsig).status_code == 401
    fake_statsig.set_offline()
    assert _get(fake_statsig, k="client-key").status_code == 503
