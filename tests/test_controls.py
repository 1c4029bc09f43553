"""The client controls of Statsig's SDKs on our destination, on the loopback fake: overrides
kept across a restart, listeners on their own thread (one that raises breaks nothing),
refresh keeping the last good values, bootstrap without a request, private traits never in
an event, prefetch for the next user, the session's rules and the environment's tier."""
import json
import threading
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from segment_statsig import Analytics, StatsigDestination
from segment_statsig.statsig.feature_store import identity_key
from segment_statsig.testing import FakeStatsig

from .conftest import KEY
from .waiting import wait_until


def initialize_users(fake):
    return [r.body.get("user") or {} for r in fake.initialize_requests]


# --- overrides -----------------------------------------------------------------------
def test_overrides_are_kept_across_a_restart_for_everyone_and_per_user(tmp_path, fake_statsig):
    fake_statsig.set_gate("new_checkout", False)
    fake_statsig.set_config("limits", {"max": 3})
    settings_ = {"integrations": {"Statsig": {"apiKey": KEY}}}
    analytics = Analytics(storage_dir=tmp_path, settings=settings_)
    dest = analytics.add(StatsigDestination(api_url=fake_statsig.url))
    dest.override_gate("new_checkout", True)
    dest.override_config("limits", {"max": 99}, user_id="tester")
    dest.override_parameter_store("store", {"headline": "QA"})
    analytics.shutdown(2)

    analytics = Analytics(storage_dir=tmp_path, settings=settings_)  # a restart: a new process would read the same files
    dest = analytics.add(StatsigDestination(api_url=fake_statsig.url))
    try:
        assert dest.wait_for_values(5)
        gate = dest.get_feature_gate("new_checkout")
        assert (gate.value, gate.details["reason"]) == (True, "LocalOverride:Recognized")
        assert dest.get_config("limits").get("max") == 3          # the override is the tester's alone
        analytics.identify("tester")
        assert dest.wait_for_values(5)
        limits = dest.get_config("limits")
        assert (limits.get("max"), limits.details["reason"]) == (99, "LocalOverride:Recognized")
        assert dest.get_parameter_store("store").get("headline", "") == "QA"
        assert dest.get_all_overrides()["gate"] == {"new_checkout": True}
        assert dest.get_all_overrides(user_id="tester")["dynamicConfig"] == {"limits": {"max": 99}}
        dest.remove_gate_override("new_checkout")
        dest.remove_all_overrides(user_id="tester")
    finally:
        analytics.shutdown(2)
    analytics = Analytics(storage_dir=tmp_path, settings=settings_)
    dest = analytics.add(StatsigDestination(api_url=fake_statsig.url))
    try:
        assert dest.get_all_overrides()["gate"] == {} and dest.get_all_overrides(user_id="tester")["dynamicConfig"] == {}
        assert dest.get_all_overrides()["paramStore"] == {"store": {"headline": "QA"}}
    finally:
        analytics.shutdown(2)


def test_override_arguments_are_checked_on_the_callers_thread(make_client):
    _, dest = make_client()
    with pytest.raises(TypeError):
        dest.override_gate("g", "yes")
    with pytest.raises(TypeError):
        dest.override_config("c", [1, 2])
    with pytest.raises(ValueError):
        dest.override_gate("", True)
    with pytest.raises(ValueError):
        dest.override_gate("g", True, user_id="")


# --- listeners -----------------------------------------------------------------------
def test_a_raising_listener_breaks_neither_the_others_nor_delivery(make_client, fake_statsig, log_records):
    fake_statsig.set_gate("g", True)
    analytics, dest = make_client()
    seen, threads = [], set()
    caller = threading.current_thread().name

    def bad(event):
        raise RuntimeError("the app's bug")

    def good(event):
        threads.add(threading.current_thread().name)
        seen.append(event["name"])

    dest.on("gate_evaluation", bad)
    dest.on("*", bad)
    dest.on("gate_evaluation", good)
    unsubscribe = dest.on("logs_flushed", good)
    dest.on("values_updated", good)
    assert dest.wait_for_values(5)
    assert dest.check_gate("g") is True                  # the bad listener raised on its thread, not here
    analytics.track("Checked")
    assert dest.flush_exposures(5) and analytics.flush(timeout=5)
    assert wait_until(lambda: {"values_updated", "gate_evaluation", "logs_flushed"} <= set(seen))
    assert threads == {"segment-statsig-listeners"} and caller not in threads
    assert "the other listeners still run" in log_records.text
    assert [e["eventName"] for e in fake_statsig.events] == ["statsig::gate_exposure", "segment_track:Checked"]
    unsubscribe()
    count = seen.count("logs_flushed")
    analytics.track("After")
    assert analytics.flush(timeout=5) and dest.check_gate("g") is True
    assert wait_until(lambda: seen.count("gate_evaluation") >= 2)
    assert seen.count("logs_flushed") == count
    with pytest.raises(ValueError):
        dest.on("no_such_event", good)


def test_overrides_and_identity_changes_are_listener_events_on_the_listeners_thread(make_client, fake_statsig):
    """overrides_updated after each override set or removed (none for a removal that
    changed nothing); user_changed after identify and reset (not for a call that changed
    nobody), so a UI reads its values again; never on the caller's thread."""
    fake_statsig.set_gate("g", True)
    analytics, dest = make_client()
    seen, threads = [], set()

    def keep(event):
        seen.append((event["name"], event.get("user_id")))
        threads.add(threading.current_thread().name)
    dest.on("overrides_updated", keep)
    dest.on("user_changed", keep)
    dest.override_gate("g", False)
    dest.remove_gate_override("g")
    dest.remove_gate_override("g")  # nothing to remove: no event
    dest.override_config("c", {"a": 1}, user_id="u1")
    dest.remove_all_overrides(user_id="u1")
    analytics.identify("u1")
    analytics.identify("u1")  # the same user: no change, no event
    analytics.reset()
    assert wait_until(lambda: len(seen) >= 6)
    time.sleep(0.2)  # (a wrong extra event would come in this time)
    assert seen == [("overrides_updated", None)] * 4 + [("user_changed", "u1"), ("user_changed", None)]
    assert threads <= {"segment-statsig-listeners"}


# --- refresh -------------------------------------------------------------------------
def test_refresh_keeps_the_last_good_values_on_any_failure(make_client, fake_statsig):
    fake_statsig.set_gate("g", True)
    fake_statsig.set_config("limits", {"max": 3})
    analytics, dest = make_client()
    updates = []
    dest.on("values_updated", updates.append)
    assert dest.wait_for_values(5) and dest.check_gate("g") is True
    # a 500 is retried (1 + 3 attempts), a 2xx that is not a usable reply is not
    for status, body, attempts in [(500, "oops", 4), (200, "<html>captive portal</html>", 1),
                                   (200, {"feature_gates": []}, 1)]:
        n = len(fake_statsig.initialize_requests)
        fake_statsig.answer_next_initialize(body, status=status, times=attempts)
        dest.refresh_values()
        # (the values' own backoff, 1 s doubling with full jitter: up to 7 s for the 500's three retries)
        assert wait_until(lambda: len(fake_statsig.initialize_requests) == n + attempts and dest.values_error, 20)
        gate = dest.get_feature_gate("g")
        assert (gate.value, gate.details["reason"]) == (True, "Network:Recognized")
        assert dest.get_config("limits").get("max") == 3
    fake_statsig.set_gate("g", False)
    dest.refresh_values()
    assert wait_until(lambda: dest.check_gate("g") is False)
    assert wait_until(lambda: len(updates) >= 2) and all(u["reason"] == "Network" for u in updates)


def test_auto_value_update_interval_refreshes_on_its_own(make_client, fake_statsig):
    with pytest.raises(ValueError):
        StatsigDestination(auto_value_update_interval=59)
    fake_statsig.set_gate("g", False)
    analytics, dest = make_client(dest_options={"auto_value_update_interval": 60})
    assert dest.wait_for_values(5) and dest.check_gate("g") is False
    dest._feature_store.refresh_policy.interval = 0.2  # the same timer, at a test's pace
    fake_statsig.set_gate("g", True)
    dest.refresh_values()  # wakes the store's thread to read the new interval
    n = len(fake_statsig.initialize_requests)
    assert wait_until(lambda: len(fake_statsig.initialize_requests) >= n + 3)
    assert dest.check_gate("g") is True


def test_a_periodic_refresh_goes_out_with_the_next_request_or_at_twice_the_interval(make_client, fake_statsig):
    """One radio wake-up for both: a refresh due waits for the destination's next request."""
    fake_statsig.set_gate("g", True)
    analytics, dest = make_client(dest_options={"auto_value_update_interval": 60})
    assert dest.wait_for_values(5)
    policy = dest._feature_store.refresh_policy
    policy.interval = 1.0
    dest.refresh_values()
    assert wait_until(lambda: len(fake_statsig.initialize_requests) == 2)
    # nothing sent: not at the interval, at twice it
    assert wait_until(lambda: len(fake_statsig.initialize_requests) == 3, timeout=5)
    first, second = fake_statsig.initialize_requests[1:3]
    assert second.received_at - first.received_at >= 1.9
    # an event sent after the interval: the refresh follows its request at once
    time.sleep(1.2)
    analytics.track("Tapped")
    assert analytics.flush(timeout=5)
    sent = fake_statsig.event_requests[-1].received_at
    assert wait_until(lambda: len(fake_statsig.initialize_requests) == 4, timeout=5)
    refresh = fake_statsig.initialize_requests[3].received_at
    assert 0 <= refresh - sent < 0.5 and refresh - second.received_at < 1.9


def test_on_foreground_refreshes_stale_values_only(make_client, fake_statsig):
    fake_statsig.set_gate("g", True)
    analytics, dest = make_client()
    assert dest.wait_for_values(5)
    n = len(fake_statsig.initialize_requests)
    dest.on_foreground()
    time.sleep(0.2)
    assert len(fake_statsig.initialize_requests) == n           # fresh values: nothing to do
    dest._feature_store._received_at -= 3600 * 1000              # an hour in the background
    analytics.on_foreground()                                    # the app's resume hook
    assert wait_until(lambda: len(fake_statsig.initialize_requests) == n + 1)


# --- bootstrap -----------------------------------------------------------------------
def test_bootstrap_answers_at_once_without_a_request_and_warns_on_another_users_values(make_client, fake_statsig):
    fake_statsig.set_gate("g", lambda user: user.get("userID") == "alice")
    analytics, dest = make_client()
    analytics.identify("carol")
    alice = fake_statsig.evaluate_for({"userID": "alice"})
    assert dest.bootstrap(json.dumps(alice)) == ["PartialUserMatch"]
    gate = dest.get_feature_gate("g")
    assert gate.value is True
    assert gate.details["reason"] == "BootstrapPartialUserMatch:Recognized"
    assert gate.details["warnings"] == ["PartialUserMatch"] and gate.details["lcut"] == fake_statsig.config_time
    own = fake_statsig.evaluate_for(dest._initialize_user("dave", {}))
    assert dest.bootstrap(own, user_id="dave") == []
    analytics.identify("dave")
    gate = dest.get_feature_gate("g")
    assert (gate.value, gate.details["reason"], gate.details["warnings"]) == (False, "Bootstrap:Recognized", [])
    time.sleep(0.3)
    assert fake_statsig.initialize_requests == []              # no initialize for a bootstrapped user
    with pytest.raises(ValueError):
        dest.bootstrap("<html>")
    with pytest.raises(TypeError):
        dest.bootstrap(42)


# --- the evaluation user ---------------------------------------------------------------
trait_names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(trait_names, min_size=1, max_size=4, unique=True))
def test_private_traits_reach_initialize_and_never_an_event(tmp_path_factory, names):
    secrets = {name: f"secret-{uuid.uuid4().hex}" for name in names}
    with FakeStatsig(api_keys={KEY}) as fake:
        fake.set_gate("g", True)
        analytics = Analytics(storage_dir=tmp_path_factory.mktemp("private"), flush_interval=0.05,
                              settings={"integrations": {"Statsig": {"apiKey": KEY}}})
        dest = analytics.add(StatsigDestination(api_url=fake.url, private_traits=names, environment="staging"))
        try:
            analytics.identify("u1", {**secrets, "plan": "pro"})
            assert dest.wait_for_values(5) and dest.check_gate("g") is True
            analytics.track("Bought", {"sku": "a"})
            analytics.screen("Home")
            assert dest.flush_exposures(5) and analytics.flush(timeout=5)
        finally:
            analytics.shutdown(2)
        asked = initialize_users(fake)[-1]
        assert asked["privateAttributes"] == secrets and asked["statsigEnvironment"] == {"tier": "staging"}
        assert len(fake.events) == 3
        for event in fake.events:
            text = json.dumps(event["user"], ensure_ascii=False)
            assert not any(secret in text for secret in secrets.values()), event
            assert "privateAttributes" not in event["user"]
            assert event["user"]["statsigEnvironment"] == {"tier": "staging"}
            assert event["user"]["custom"]["plan"] == "pro"


def test_prefetch_for_the_next_user_makes_identify_answer_at_once(make_client, fake_statsig):
    fake_statsig.set_gate("g", lambda user: user.get("userID") == "bob" and user.get("custom", {}).get("plan") == "pro")
    analytics, dest = make_client()
    analytics.identify("alice")
    assert dest.wait_for_values(5) and dest.check_gate("g") is False
    dest.prefetch_values(user_id="bob", traits={"plan": "pro"})
    assert wait_until(lambda: any(u.get("userID") == "bob" for u in initialize_users(fake_statsig)))
    assert wait_until(lambda: dest._feature_store.seeds.get(identity_key("bob", analytics.anonymous_id)))
    fake_statsig.set_offline(True)                   # nothing more can come from the network
    analytics.identify("bob", {"plan": "pro"})
    gate = dest.get_feature_gate("g")                # no wait_for_values: answered from the prefetch
    assert (gate.value, gate.details["reason"]) == (True, "Prefetch:Recognized")


# --- session -------------------------------------------------------------------------
def test_session_follows_the_js_clients_rules_and_survives_a_restart(tmp_path):
    from segment_statsig.statsig.session import MAX_AGE_MS, MAX_IDLE_MS, Session

    now = [1_000_000.0]
    session = Session(str(tmp_path), clock=lambda: now[0])
    first = session.current()
    now[0] += MAX_IDLE_MS / 1000 - 1
    assert session.current() == first                   # 30 minutes less a second: the same session
    assert Session(str(tmp_path), clock=lambda: now[0]).current() == first  # kept across a restart
    now[0] += MAX_IDLE_MS / 1000 + 1
    second = session.current()
    assert second != first                              # idle too long: a new one
    for _ in range(9):                                  # busy, but 4 hours in all end it too
        now[0] += MAX_IDLE_MS / 1000 - 1
        session.current()
    assert (now[0] * 1000 - 1_000_000_000) > MAX_AGE_MS and session.current() != second


def test_environment_and_session_on_every_request(make_client, fake_statsig):
    fake_statsig.set_gate("g", True)
    analytics, dest = make_client(dest_options={"environment": "staging"})
    assert dest.wait_for_values(5) and dest.check_gate("g")
    analytics.track("A")
    assert dest.flush_exposures(5) and analytics.flush(timeout=5)
    assert initialize_users(fake_statsig)[-1]["statsigEnvironment"] == {"tier": "staging"}
    assert all(e["user"]["statsigEnvironment"] == {"tier": "staging"} for e in fake_statsig.events)
    sessions = {r.body["statsigMetadata"]["sessionID"] for r in fake_statsig.event_requests}
    assert sessions == {dest.session_id}
