"""Feature gates, configs and experiments on the device, on the loopback fake."""
import json
import os
import stat
import threading
import time

import pytest
from hypothesis import given, settings, strategies as st

from segment_statsig import Analytics, StatsigDestination
from segment_statsig.testing import FakeStatsig
from segment_statsig.statsig.initialize_reply import djb2, parse_reply, MalformedReply

from .conftest import KEY


def exposures(fake, name=None):
    out = [e for e in fake.events if e["eventName"].startswith("statsig::")]
    return [e for e in out if name is None or e["eventName"] == name]


@pytest.fixture
def gated(fake_statsig):
    fake_statsig.set_gate("new_checkout", lambda user: user.get("userID") == "alice",
                          secondary_exposures=[{"gate": "employees", "gateValue": "false", "ruleID": "default"}])
    fake_statsig.set_experiment(
        "button_colour",
        lambda user: ("Test", {"colour": "green", "size": 2}) if user.get("userID") == "alice"
        else ("Control", {"colour": "blue", "size": 1}))
    return fake_statsig


def test_djb2_matches_statsig_js_client():
    # values computed with the JS client's DJB2 (Hashing.ts) under node
    assert djb2("a_gate") == "2867927529"
    assert djb2("") == "0"
    assert djb2("é") == "233"
    assert djb2("😀 long name with many chars to overflow") == "1234221423"


def test_gate_on_for_one_user_and_off_for_another(make_client, gated):
    analytics, dest = make_client()
    analytics.identify("alice")
    assert dest.wait_for_values(5)
    gate = dest.get_feature_gate("new_checkout")
    assert (gate.value, gate.rule_id, gate.evaluation_reason) == (True, "new_checkout:on", "Network")
    assert dest.check_gate("new_checkout") is True
    assert dest.check_gate("no_such_gate") is False

    analytics.identify("bob")
    assert dest.wait_for_values(5)
    assert dest.check_gate("new_checkout") is False
    assert dest.get_feature_gate("new_checkout").rule_id == "default"
    request = gated.initialize_requests[-1]
    assert request.body["hash"] == "djb2" and request.body["user"]["userID"] == "bob"
    assert request.headers["STATSIG-API-KEY"] == KEY
    assert request.body["statsigMetadata"]["stableID"] == analytics.anonymous_id


def test_experiment_values_follow_the_user(make_client, gated):
    analytics, dest = make_client()
    analytics.identify("alice")
    assert dest.wait_for_values(5)
    exp = dest.get_experiment("button_colour")
    assert exp.get("colour", "red") == "green" and exp.group_name == "Test"
    assert exp.get("size", 0) == 2 and exp.get("size", "text") == "text"   # wrong type: the default
    assert exp.get("missing", "red") == "red"
    assert exp.value == {"colour": "green", "size": 2}

    analytics.reset()          # a new anonymous user: Control
    assert dest.wait_for_values(5)
    exp = dest.get_experiment("button_colour")
    assert (exp.get("colour", "red"), exp.group_name, exp.evaluation_reason) == ("blue", "Control", "Network")
    assert dest.get_config("button_colour").value == {"colour": "blue", "size": 1}


def test_before_values_answers_default_and_says_so(fake_statsig, tmp_path):
    fake_statsig.set_gate("g", True)
    analytics = Analytics(storage_dir=tmp_path / "s", settings={"integrations": {}})
    dest = analytics.add(StatsigDestination(api_url=fake_statsig.url))   # no key yet: nothing can be fetched
    try:
        gate = dest.get_feature_gate("g")
        assert (gate.value, gate.evaluation_reason, gate.reason) == (False, "Uninitialized", "Uninitialized:Unrecognized")
        assert dest.wait_for_values(0.3) is False
        assert fake_statsig.initialize_requests == []
        dest.update({"integrations": {"Statsig": {"apiKey": KEY}}}, "refresh")   # the key arrives
        assert dest.wait_for_values(5)
        assert dest.check_gate("g") is True
    finally:
        analytics.shutdown(2)


def test_no_values_when_offline_without_cache(make_client, fake_statsig, log_records):
    fake_statsig.set_gate("g", True)
    fake_statsig.set_offline(True)
    analytics, dest = make_client()
    assert dest.wait_for_values(5) is False
    gate = dest.get_feature_gate("g")
    assert (gate.value, gate.evaluation_reason) == (False, "NoValues")
    assert "503" in dest.values_error
    assert "initialize failed" in log_records.text


def test_offline_cold_start_answers_from_the_cache(tmp_path, fake_statsig, gated):
    store = tmp_path / "store"
    settings = {"integrations": {"Statsig": {"apiKey": KEY}}}
    analytics = Analytics(storage_dir=store, settings=settings)
    dest = analytics.add(StatsigDestination(api_url=fake_statsig.url))
    analytics.identify("alice")
    assert dest.wait_for_values(5) and dest.check_gate("new_checkout")
    analytics.shutdown(2)
    files = [n for n in os.listdir(store) if n.startswith("statsig-values-")]
    assert len(files) == 1
    path = store / files[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "alice" not in files[0] and KEY not in text
    assert list(json.loads(text)["values"]["feature_gates"]) == [djb2("new_checkout")]   # names stay hashed

    fake_statsig.set_offline(True)
    analytics = Analytics(storage_dir=store, settings=settings)       # cold start, offline
    dest = analytics.add(StatsigDestination(api_url=fake_statsig.url))
    try:
        assert dest.wait_for_values(5)
        gate = dest.get_feature_gate("new_checkout")
        assert (gate.value, gate.evaluation_reason) == (True, "Cache")
        assert dest.get_experiment("button_colour").get("colour", "red") == "green"
        assert "503" in dest.values_error
        fake_statsig.set_offline(False)
        analytics.identify("alice", {"plan": "pro"})  # same user: fetched again, now from the network
        deadline = time.monotonic() + 5
        while dest.values_reason != "Network" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert dest.get_feature_gate("new_checkout").evaluation_reason == "Network"
    finally:
        analytics.shutdown(2)


def test_exposures_logged_once_per_user_and_value(make_client, gated):
    analytics, dest = make_client()
    analytics.identify("alice")
    assert dest.wait_for_values(5)
    for _ in range(3):
        assert dest.check_gate("new_checkout") is True
        dest.get_experiment("button_colour").get("colour", "red")
    analytics.identify("bob")
    assert dest.wait_for_values(5)
    for _ in range(2):
        assert dest.check_gate("new_checkout") is False
    assert dest.flush_exposures(5) and analytics.flush(timeout=5)

    gates = exposures(gated, "statsig::gate_exposure")
    assert [(e["user"]["userID"], e["metadata"]["gateValue"]) for e in gates] == [("alice", "true"), ("bob", "false")]
    first = gates[0]
    received = int(first["metadata"].pop("receivedAt"))  # when the values came, as Statsig's clients say
    assert abs(received - time.time() * 1000) < 60_000 and received <= first["time"]
    assert first["metadata"] == {"gate": "new_checkout", "gateValue": "true", "ruleID": "new_checkout:on",
                                 "reason": "Network:Recognized", "lcut": str(gated.config_time)}
    assert first["secondaryExposures"] == [{"gate": "employees", "gateValue": "false", "ruleID": "default"}]
    assert abs(first["time"] - time.time() * 1000) < 60_000
    assert first["user"]["customIDs"]["stableID"] == analytics.anonymous_id
    configs = exposures(gated, "statsig::config_exposure")
    assert len(configs) == 1
    assert configs[0]["metadata"].pop("receivedAt").isdigit()
    assert configs[0]["metadata"] == {"config": "button_colour", "ruleID": "button_colour:Test",
                                      "reason": "Network:Recognized", "lcut": str(gated.config_time)}
    assert configs[0]["secondaryExposures"] == []
    # exposures travel in the same batches, through the same queue, as the app's events
    assert all(r.path == "/v1/log_event" for r in gated.event_requests)


def test_exposure_again_when_the_value_changes(make_client, fake_statsig):
    fake_statsig.set_gate("g", False)
    analytics, dest = make_client()
    assert dest.wait_for_values(5)
    assert dest.check_gate("g") is False
    fake_statsig.set_gate("g", True)
    analytics.identify(None, {"plan": "pro"})   # identify fetches again
    deadline = time.monotonic() + 5
    while not dest.check_gate("g") and time.monotonic() < deadline:
        time.sleep(0.02)
    dest.check_gate("g")
    assert dest.flush_exposures(5) and analytics.flush(timeout=5)
    assert [e["metadata"]["gateValue"] for e in exposures(fake_statsig)] == ["false", "true"]


def test_malformed_reply_keeps_last_good_values_and_logs_why(make_client, gated, log_records):
    analytics, dest = make_client()
    analytics.identify("alice")
    assert analytics.flush(timeout=5) and dest.wait_for_values(5) and dest.check_gate("new_checkout")
    for bad, why in [("<html>proxy</html>", "not JSON"),
                     ({"feature_gates": [], "dynamic_configs": {}, "layer_configs": {}}, "'feature_gates'"),
                     ({"feature_gates": {djb2("new_checkout"): {"value": "yes"}}, "dynamic_configs": {},
                       "layer_configs": {}}, "value is not a boolean")]:
        gated.answer_next_initialize(bad)
        n = len(gated.initialize_requests)
        analytics.identify("alice", {"n": n})       # same user: fetch again
        assert dest.wait_for_values(5)
        deadline = time.monotonic() + 5
        while len(gated.initialize_requests) <= n and time.monotonic() < deadline:
            time.sleep(0.02)
        deadline = time.monotonic() + 5
        while why not in (dest.values_error or "") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert why in dest.values_error
        assert dest.check_gate("new_checkout") is True
        assert dest.get_feature_gate("new_checkout").evaluation_reason == "Network"
        assert dest.get_experiment("button_colour").get("colour", "red") == "green"
    assert "malformed initialize reply" in log_records.text and "keeping the last good values" in log_records.text


def test_has_updates_false_keeps_values(make_client, gated):
    analytics, dest = make_client()
    analytics.identify("alice")
    assert analytics.flush(timeout=5) and dest.wait_for_values(5)   # the identify's own refetch done too
    gated.answer_next_initialize({"has_updates": False})
    analytics.identify("alice", {"x": 1})
    deadline = time.monotonic() + 5
    while dest.values_reason != "NetworkNotModified" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert dest.get_feature_gate("new_checkout").evaluation_reason == "NetworkNotModified"
    assert dest.check_gate("new_checkout") is True


def test_checks_never_wait_for_the_network(make_client, fake_statsig):
    fake_statsig.set_gate("g", True)
    release = threading.Event()
    # the fake holds its initialize answer until released: a slow network
    fake_statsig.on_request(lambda record: release.wait(5) if record.path == "/v1/initialize" else None)
    analytics, dest = make_client()
    try:
        dest.prefetch_values()
        assert fake_statsig.wait_for_requests(1, timeout=5)   # the fetch is hanging on the server
        t0 = time.perf_counter()
        for _ in range(100):
            dest.check_gate("g")
        assert time.perf_counter() - t0 < 2.0  # one check waiting for the reply would take 5 s
        assert dest.get_feature_gate("g").evaluation_reason == "Uninitialized"
    finally:
        release.set()
    assert dest.wait_for_values(5) and dest.check_gate("g")


def test_layer_parameter_exposure(make_client, fake_statsig):
    fake_statsig.answer_next_initialize({
        "feature_gates": {}, "dynamic_configs": {}, "hash_used": "djb2", "has_updates": True, "time": 5,
        "layer_configs": {djb2("checkout_layer"): {
            "name": djb2("checkout_layer"), "value": {"title": "Pay now", "steps": 2}, "rule_id": "r-layer",
            "allocated_experiment_name": djb2("checkout_exp"), "explicit_parameters": ["title"],
            "secondary_exposures": [{"gate": "a", "gateValue": "true", "ruleID": "r"}],
            "undelegated_secondary_exposures": []}}})
    analytics, dest = make_client()
    assert dest.wait_for_values(5)
    layer = dest.get_layer("checkout_layer")
    assert layer.get("title", "") == "Pay now" and layer.get("steps", 0) == 2
    layer.get("title", "")
    assert dest.flush_exposures(5) and analytics.flush(timeout=5)
    got = [(e["metadata"]["parameterName"], e["metadata"]["isExplicitParameter"], e["secondaryExposures"])
           for e in exposures(fake_statsig, "statsig::layer_exposure")]
    assert got == [("title", "true", [{"gate": "a", "gateValue": "true", "ruleID": "r"}]), ("steps", "false", [])]


def test_nothing_fetched_until_values_are_wanted(make_client, fake_statsig):
    analytics, dest = make_client()
    analytics.track("x")
    analytics.identify("u")
    assert dest.flush_exposures(5) and analytics.flush(timeout=5)
    assert fake_statsig.initialize_requests == []
    dest.prefetch_values()
    assert dest.wait_for_values(5)
    assert len(fake_statsig.initialize_requests) == 1


def test_parse_reply_rejects_wrong_shapes():
    with pytest.raises(MalformedReply, match="not JSON"):
        parse_reply("nope")
    with pytest.raises(MalformedReply, match="not an object"):
        parse_reply("[]")
    with pytest.raises(MalformedReply, match="dynamic_configs"):
        parse_reply(json.dumps({"feature_gates": {}, "layer_configs": {}}))
    assert parse_reply('{"has_updates": false}') == {"has_updates": False}


# -- the fake's initialize ----------------------------------------------------------------

def test_fake_serves_configured_values_hashed_per_user(fake_statsig):
    import requests

    fake_statsig.set_gate("g", lambda user: user.get("userID") == "a", rule_id="r1")
    fake_statsig.set_experiment("e", {"k": 1}, group_name="Test")
    url = fake_statsig.url + f"/initialize?k={KEY}"
    body = requests.post(url, json={"user": {"userID": "a"}, "hash": "djb2"}, timeout=5).json()
    assert body["hash_used"] == "djb2" and body["has_updates"] is True
    assert body["feature_gates"][djb2("g")]["value"] is True and body["feature_gates"][djb2("g")]["rule_id"] == "r1"
    assert body["dynamic_configs"][djb2("e")]["group_name"] == "Test"
    other = requests.post(url, json={"user": {"userID": "b"}, "hash": "none"}, timeout=5).json()
    assert other["feature_gates"]["g"]["value"] is False
    assert "g" not in requests.post(url, json={"user": {}, "hash": "sha256"}, timeout=5).json()["feature_gates"]
    fake_statsig.answer_next_initialize("{not json")
    assert requests.post(url, json={"user": {}}, timeout=5).text == "{not json"
    assert requests.post(url, json={"user": {}}, timeout=5).json()["feature_gates"]  # back to normal


def _initialize_users(fake):
    return [(r.body["user"].get("userID"), r.body["user"].get("custom")) for r in fake.initialize_requests]


@pytest.mark.parametrize("check_first", [True, False], ids=["check before the timeline", "no check"])
def test_one_initialize_per_identify(make_client, gated, check_first):
    """identify changes the user at the call; the timeline hears of it later (here at the
    flush, as at an app's on_pause). A check in between follows the new user at once: the
    timeline's turn must not ask Statsig for the same values again."""
    analytics, dest = make_client(flush_at=1000, flush_interval=3600)  # the timeline runs when flushed
    assert dest.wait_for_values(5)                 # the anonymous user's values
    analytics.identify("alice", {"plan": "pro"})
    if check_first:
        dest.check_gate("new_checkout")            # right after identify, before the values
    assert dest.wait_for_values(5) or not check_first
    assert analytics.flush(timeout=5)              # the timeline processes the identify
    assert dest.wait_for_values(5) and dest.check_gate("new_checkout") is True
    analytics.identify("alice", {"plan": "pro"})   # the same user again: nothing changed, nothing fetched
    analytics.reset()
    dest.check_gate("new_checkout")                # reset: a new anonymous user, followed at the check
    assert analytics.flush(timeout=5) and dest.wait_for_values(5)
    users = _initialize_users(gated)
    assert users == [(None, None), ("alice", {"plan": "pro"}), (None, None)], users
    assert len({r.body["user"]["customIDs"]["stableID"] for r in gated.initialize_requests}) == 2


def test_a_check_while_the_new_users_values_load_says_loading(make_client, fake_statsig):
    """As Statsig's JS client after updateUserAsync (tests/test_statsig_js_client.py runs it):
    the default, reason Loading:Unrecognized, logged as an exposure of the new user; once
    the values are in, the same check logs the real value."""
    fake_statsig.set_gate("g", lambda user: user.get("userID") == "bob")
    release = threading.Event()
    fake_statsig.on_request(lambda r: release.wait(5) if r.endpoint == "initialize"
                            and r.body["user"].get("userID") == "bob" else None)
    analytics, dest = make_client(flush_at=1000, flush_interval=3600)
    try:
        assert dest.wait_for_values(5)
        analytics.identify("bob")
        loading = dest.get_feature_gate("g")
        assert (loading.value, loading.reason, dest.values_reason) == (False, "Loading:Unrecognized", "Loading")
    finally:
        release.set()
    assert dest.wait_for_values(5) and dest.check_gate("g") is True
    assert dest.flush_exposures(5) and analytics.flush(timeout=5)
    assert [(e["user"].get("userID"), e["metadata"]["gateValue"], e["metadata"]["reason"])
            for e in exposures(fake_statsig)] == [("bob", "false", "Loading:Unrecognized"),
                                                   ("bob", "true", "Network:Recognized")]


_OPS = {"alice": ("alice", {}), "bob": ("bob", {}), "pro": (None, {"plan": "pro"}), "free": (None, {"plan": "free"})}


@settings(max_examples=25, deadline=None)
@given(ops=st.lists(st.sampled_from([*_OPS, "reset", "check", "flush"]), max_size=8))
def test_initialize_requests_follow_user_changes_only(ops, tmp_path_factory):
    """Any run of identify / reset / check / flush: an initialize request exactly when a
    check finds new IDs, or the timeline's turn on an identify or reset finds a user
    (IDs or traits) other than the one last fetched for; never twice for one user."""
    with FakeStatsig(api_keys={KEY}) as fake:
        analytics = Analytics(storage_dir=tmp_path_factory.mktemp("s"), flush_at=1000, flush_interval=3600,
                              settings={"integrations": {"Statsig": {"apiKey": KEY}}})
        dest = analytics.add(StatsigDestination(api_url=fake.url))
        try:
            assert dest.wait_for_values(5)
            user, anon, traits = None, 0, {}
            fetched, pending, expected = (None, 0, {}), False, 1
            for op in ops:
                if op in _OPS:
                    user_id, new = _OPS[op]
                    analytics.identify(user_id, new)
                    user, traits, pending = user_id or user, {**traits, **new}, True
                elif op == "reset":
                    analytics.reset()
                    user, anon, traits, pending = None, anon + 1, {}, True
                elif op == "check":
                    dest.check_gate("g")
                else:
                    assert analytics.flush(timeout=5)
                    if pending and (user, anon, traits) != fetched:
                        fetched, expected = (user, anon, traits), expected + 1
                    pending = False
                # wait_for_values checks too: it follows new IDs at once (a fetch), so the
                # timeline's later turn on that identify or reset finds that user fetched
                assert dest.wait_for_values(5)
                if (user, anon) != fetched[:2]:
                    fetched, expected = (user, anon, traits), expected + 1
            assert len(fake.initialize_requests) == expected, ops
        finally:
            analytics.shutdown(1)
