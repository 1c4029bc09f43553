"""Hardening: hostile initialize replies and damaged values caches. Whatever Statsig's
initialize endpoint answers or the disk holds, a check on the app's thread never raises
and answers a value of its kind; damage is logged and ignored (the last good values stay,
a damaged cache is fetched anew)."""
import json
import logging
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segment_statsig import Analytics, StatsigDestination
from segment_statsig.analytics import jsonsafe
from segment_statsig.statsig.feature_store import FeatureStore, identity_key
from segment_statsig.statsig.initialize_reply import djb2
from segment_statsig.statsig.transport import StatsigTransport
from segment_statsig.statsig.values_cache import cache_name

from .conftest import KEY

# --- hostile replies, property-based ------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2 ** 64), max_value=2 ** 64)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6)
DEEP = "__deep__"  # a field whose value is replaced by JSON nested tens of thousands of levels deep


def field(good):
    """A field as Statsig sends it, or any JSON value at all, or deep nesting."""
    return st.one_of(good, good, json_values, st.just(DEEP))


exposure = st.fixed_dictionaries({"gate": st.text(max_size=4), "gateValue": st.sampled_from(["true", "false"]),
                                  "ruleID": st.text(max_size=4)})
common = {"name": field(st.text(max_size=4)), "rule_id": field(st.text(max_size=6)),
          "id_type": field(st.just("userID")), "secondary_exposures": field(st.lists(exposure, max_size=2)),
          "undelegated_secondary_exposures": field(st.lists(exposure, max_size=2)),
          "group_name": field(st.text(max_size=4)), "explicit_parameters": field(st.lists(st.text(max_size=3), max_size=2)),
          "allocated_experiment_name": field(st.text(max_size=4)), "is_device_based": field(st.booleans())}
config_value = st.dictionaries(st.sampled_from(["a", "b", "title"]), json_values, max_size=3)
gate_spec = st.fixed_dictionaries({"value": field(st.booleans())}, optional=common)
config_spec = st.fixed_dictionaries({"value": field(config_value)}, optional=common)


def section(spec, name):
    """A section: the named entry (hashed or not), maybe others, or anything at all."""
    keys = st.sampled_from([djb2(name), name, "other"])
    return field(st.dictionaries(keys, field(spec), max_size=2))


replies = st.one_of(
    st.fixed_dictionaries(
        {"feature_gates": section(gate_spec, "g"), "dynamic_configs": section(config_spec, "c"),
         "layer_configs": section(config_spec, "l")},
        optional={"hash_used": field(st.sampled_from(["djb2", "none", "sha256"])), "time": field(st.integers(0)),
                  "has_updates": field(st.booleans())}),
    json_values, st.just(DEEP))


def reply_text(reply, depth):
    """The reply as JSON text, with DEEP replaced by nesting `depth` levels deep."""
    deep = "[" * depth + "]" * depth if depth % 2 else '{"a":' * depth + "1" + "}" * depth
    return json.dumps(reply).replace(json.dumps(DEEP), deep)


GOOD = {"feature_gates": {djb2("g"): {"value": True, "rule_id": "r-good"}},
        "dynamic_configs": {djb2("c"): {"value": {"title": "good"}}}, "layer_configs": {},
        "hash_used": "djb2", "has_updates": True, "time": 1}


class Store:
    """A FeatureStore on the loopback fake: a real transport, exposures journaled as the
    destination journals them (jsonsafe, as on the checking thread)."""

    def __init__(self, fake, storage_dir, retries=0):
        self.fake = fake
        self.exposures = []
        self.user = "u0"
        self.store = FeatureStore(
            # a generous timeout: a loaded machine must not turn a good reply into a failed fetch
            transport=StatsigTransport(fake.url + "/initialize", fake.url + "/log_event", timeout=30),
            key_fn=lambda: KEY, identity_fn=lambda: (self.user, "anon"), user_fn=lambda: {"userID": self.user},
            metadata_fn=lambda: {}, log_exposure=lambda event: self.exposures.append(jsonsafe.dumps(event)),
            storage_dir=str(storage_dir), retries=retries, retry_base=0.01, retry_max=0.01, dedupe_seconds=0)

    def fetch(self, user=None):
        """Fetch again (for a new user when given) and wait until that very fetch has
        settled; it must be the one initialize request made meanwhile, so the answer the
        test queued (answer_next_initialize) is the one it got."""
        if user is not None:
            self.user = user
        asked = len(self.fake.initialize_requests)
        self.store.refresh()
        self.settled()
        assert len(self.fake.initialize_requests) == asked + 1, \
            "not exactly one initialize for this fetch (did another take the queued answer?)"

    def settled(self, timeout=60):
        """Wait (with a deadline) until the newest fetch asked for has finished its first
        attempt. Not wait_for_values(): on its timeout it answers True whenever older values
        are known, and `or last_error` would take an older fetch's error for this one's."""
        store = self.store
        with store._cond:
            gen = store._gen
            assert store._cond.wait_for(lambda: store._settled_gen >= gen, timeout), \
                f"fetch {gen} not settled within {timeout} s"

    def check_everything(self):
        """Every kind of check, on this (the app's) thread: never raises, answers its kind."""
        gate = self.store.evaluate("gate", "g")
        assert isinstance(gate.value, bool) and isinstance(gate.rule_id, str)
        for kind, name in (("config", "c"), ("layer", "l"), ("config", "missing")):
            ev = self.store.evaluate(kind, name)
            assert isinstance(ev.value, dict) and isinstance(ev.rule_id, str)
            assert all(isinstance(item, dict) for item in ev.secondary_exposures + ev.undelegated_secondary_exposures)
            assert all(isinstance(item, str) for item in ev.explicit_parameters)
            for key in [*ev.value, *ev.explicit_parameters, "absent"]:
                ev.get(key, "default")
                ev.get(key)
        for text in self.exposures:
            metadata = json.loads(text)["metadata"]
            assert all(isinstance(value, str) for value in metadata.values())
        self.exposures.clear()
        return gate


@pytest.fixture
def store(fake_statsig, tmp_path):
    made = Store(fake_statsig, tmp_path)
    made.store.start()
    # start() fetches at once: let that fetch finish before any example queues an answer,
    # else it may take the answer meant for the example's own fetch (which then gets the
    # fake's default values)
    made.settled()
    yield made
    made.store.stop()


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(reply=replies, depth=st.integers(min_value=1, max_value=100_000))
def test_hostile_initialize_replies_never_raise_and_damage_keeps_the_last_good_values(
        store, fake_statsig, reply, depth):
    fake_statsig.answer_next_initialize(GOOD)
    store.fetch()
    assert store.check_everything().value is True
    fake_statsig.answer_next_initialize(reply_text(reply, depth))
    store.fetch()
    gate = store.check_everything()
    if store.store.last_error is not None:   # refused, and said why: the last good values answer
        assert "malformed initialize reply" in store.store.last_error
        assert (gate.value, gate.rule_id, gate.evaluation_reason) == (True, "r-good", "Network")
    assert store.store._thread.is_alive()


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(reply=replies, depth=st.integers(min_value=1, max_value=100_000), wrapped=st.booleans())
def test_hostile_values_caches_never_raise_and_damage_is_fetched_anew(fake_statsig, tmp_path, reply, depth, wrapped):
    """A cache file with anything in it: checks never raise; when it cannot be used, the
    store asks the network (here offline: NoValues) rather than giving up."""
    user = f"u{time.monotonic_ns()}"
    text = reply_text(reply, depth)
    if wrapped:
        text = '{"saved_at": 5, "values": ' + text + "}"
    (tmp_path / cache_name(identity_key(user, "anon"))).write_text(text)
    fake_statsig.set_offline(True)
    made = Store(fake_statsig, tmp_path)
    asked = len(fake_statsig.initialize_requests)
    made.user = user
    made.store.start()   # reads the cache, then asks the network
    try:
        made.settled()
        made.check_everything()
        assert len(fake_statsig.initialize_requests) == asked + 1   # the network was asked all the same
        assert made.store.source in ("Cache", "NoValues")
    finally:
        made.store.stop()
        os.unlink(tmp_path / cache_name(identity_key(user, "anon")))


# --- the reported cases, through the destination ---------------------------------------------
def test_fields_of_the_wrong_type_are_ignored_and_every_check_answers(make_client, fake_statsig, log_records):
    fake_statsig.answer_next_initialize({
        "hash_used": "djb2", "has_updates": True, "time": 5,
        "feature_gates": {djb2("new_checkout"): {"value": True, "rule_id": ["a", "list"], "secondary_exposures": 5}},
        "dynamic_configs": {djb2("colour"): {"value": {"colour": "green"}, "rule_id": {"an": "object"},
                                             "group_name": 7, "secondary_exposures": [5, {"gate": "ok"}]}},
        "layer_configs": {djb2("checkout"): {"value": {"title": "Pay"}, "explicit_parameters": 7,
                                             "undelegated_secondary_exposures": "x", "allocated_experiment_name": []}}})
    analytics, dest = make_client()
    assert dest.wait_for_values(5)
    assert dest.check_gate("new_checkout") is True
    assert dest.get_feature_gate("new_checkout").rule_id == ""
    config = dest.get_config("colour")
    assert config.get("colour", "red") == "green" and config.rule_id == "" and config.group_name is None
    assert dest.get_experiment("colour").secondary_exposures == [{"gate": "ok"}]
    layer = dest.get_layer("checkout")
    assert layer.get("title", "") == "Pay" and layer.explicit_parameters == []
    assert dest.values_reason == "Network"
    assert "ignoring fields of the wrong type" in log_records.text
    for name in ("rule_id (2)", "secondary_exposures (2)", "explicit_parameters (1)", "group_name (1)"):
        assert name in log_records.text
    assert dest.flush_exposures(5) and analytics.flush(timeout=5)
    assert fake_statsig.wait_for_events(3, timeout=5)
    names = sorted(e["eventName"] for e in fake_statsig.events)
    assert names == ["statsig::config_exposure", "statsig::gate_exposure", "statsig::layer_exposure"]


@pytest.mark.parametrize("damage", ["[]", "null", '"x"', "5", '{"values": []}', '{"saved_at": 1, "values": null}',
                                    '{"values": {"has_updates": false}}', "[" * 100_000, "{\"a\":" * 100_000,
                                    '{"values": ' + "[" * 100_000 + "]" * 100_000 + "}"],
                         ids=["list", "null", "string", "number", "values-list", "values-null", "no-values",
                              "deep-list", "deep-object", "deep-values"])
def test_a_damaged_values_cache_is_ignored_and_fetched_anew(tmp_path, fake_statsig, log_records, damage):
    fake_statsig.set_gate("new_checkout", lambda user: user.get("userID") == "alice")
    store = tmp_path / "store"
    settings = {"integrations": {"Statsig": {"apiKey": KEY}}}
    analytics = Analytics(storage_dir=store, settings=settings)
    dest = analytics.add(StatsigDestination(api_url=fake_statsig.url))
    analytics.identify("alice")
    assert dest.wait_for_values(5) and dest.check_gate("new_checkout")
    analytics.shutdown(2)
    [name] = [n for n in os.listdir(store) if n.startswith("statsig-values-")]
    (store / name).write_text(damage)

    asked = len(fake_statsig.initialize_requests)
    analytics = Analytics(storage_dir=store, settings=settings)       # the next launch
    dest = analytics.add(StatsigDestination(api_url=fake_statsig.url))
    try:
        assert dest.wait_for_values(5)
        assert len(fake_statsig.initialize_requests) == asked + 1
        gate = dest.get_feature_gate("new_checkout")
        assert (gate.value, gate.evaluation_reason) == (True, "Network")
        assert any("ignoring unreadable" in r.getMessage() and name in r.getMessage() for r in log_records.records)
        assert "unexpected" not in log_records.text
        assert json.loads((store / name).read_text())["values"]["feature_gates"]   # replaced by the good reply
    finally:
        analytics.shutdown(2)
