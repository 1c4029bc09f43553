"""StatsigDestination(on_device_evaluation=True): config specs from FakeStatsig (GET
download_config_specs?k=…), cached on disk, answer every user on the device: identify and
reset make no initialize request, a user never seen before is answered at once, offline too;
set_config_specs bootstraps; older specs and replies without has_updates are ignored."""
import json
import time

import pytest

from segment_statsig import Analytics, StatsigDestination
from segment_statsig.storage.files import STATSIG_SPECS

from .conftest import KEY
from .waiting import wait_until as _wait


def _gate(name, user_ids):
    return {"name": name, "type": "feature_gate", "entity": "feature_gate", "salt": name, "enabled": True,
            "defaultValue": False, "idType": "userID",
            "rules": [{"name": f"{name}:r", "id": f"{name}:r", "salt": "r", "idType": "userID", "passPercentage": 100,
                       "returnValue": True, "conditions": [{"type": "user_field", "field": "userID", "operator": "any",
                                                            "targetValue": user_ids}]}]}


def specs(time_ms, user_ids=("user-99",)):
    return {"has_updates": True, "time": time_ms, "feature_gates": [_gate("vip", list(user_ids))],
            "dynamic_configs": [{"name": "banner", "type": "dynamic_config", "entity": "dynamic_config", "salt": "b",
                                 "enabled": True, "defaultValue": {"text": "hello"}, "idType": "userID", "rules": []}],
            "layer_configs": [], "layers": {}}


def _client(tmp_path, fake, **options):
    analytics = Analytics(settings={"integrations": {"Statsig": {"apiKey": KEY}}}, storage_dir=tmp_path / "store",
                          flush_interval=0.05)
    dest = analytics.add(StatsigDestination(api_url=fake.url, on_device_evaluation=True, retry_base=0.02,
                                            retry_max=0.1, **options))
    return analytics, dest


def test_a_never_seen_user_is_answered_at_once_from_cached_specs_with_no_request(tmp_path, fake_statsig):
    fake_statsig.set_config_specs(specs(1_000))
    analytics, dest = _client(tmp_path, fake_statsig)
    dest.prefetch_values()
    assert dest.wait_for_values(5) and dest.values_reason == "Network"
    [request] = fake_statsig.config_specs_requests
    assert request.query["k"] == KEY and request.method == "GET"
    analytics.shutdown(timeout=2)
    assert json.loads((tmp_path / "store" / STATSIG_SPECS).read_text())["specs"]["time"] == 1_000

    fake_statsig.set_offline()  # a cold start offline: only the cache has them
    analytics, dest = _client(tmp_path, fake_statsig)
    try:
        dest.prefetch_values()
        assert dest.wait_for_values(5)
        before = len(fake_statsig.requests)
        analytics.identify("user-99")  # never seen on this device
        gate = dest.get_feature_gate("vip")
        assert (gate.value, gate.rule_id, gate.evaluation_reason) == (True, "vip:r", "Cache")
        assert dest.get_config("banner").get("text", "") == "hello"
        analytics.reset()
        assert dest.check_gate("vip") is False
        assert len(fake_statsig.requests) == before and fake_statsig.initialize_requests == []
    finally:
        analytics.shutdown(timeout=2)


def test_identify_and_reset_make_no_initialize_request(tmp_path, fake_statsig):
    fake_statsig.set_config_specs(specs(1_000, ["a", "c"]))
    analytics, dest = _client(tmp_path, fake_statsig)
    try:
        dest.prefetch_values()
        assert dest.wait_for_values(5)
        seen = []
        for user_id in ["a", "b", "c", None, "a"]:
            if user_id is None:
                analytics.reset()
            else:
                analytics.identify(user_id, {"plan": "pro"})
            seen.append(dest.check_gate("vip"))
        assert seen == [True, False, True, False, True]
        analytics.flush()
        assert _wait(lambda: len([e for e in fake_statsig.events if e["eventName"] == "statsig::gate_exposure"]) >= 5)
        exposure = [e for e in fake_statsig.events if e["eventName"] == "statsig::gate_exposure"][0]
        assert exposure["metadata"]["reason"] == "Network:Recognized" and exposure["metadata"]["ruleID"] == "vip:r"
        assert fake_statsig.initialize_requests == [] and len(fake_statsig.config_specs_requests) == 1
    finally:
        analytics.shutdown(timeout=2)


def test_bootstrap_then_newer_specs_from_the_network_older_ones_ignored(tmp_path, fake_statsig):
    fake_statsig.set_offline()
    analytics, dest = _client(tmp_path, fake_statsig)
    try:
        assert dest.set_config_specs(json.dumps(specs(2_000, ["boot"])))  # before the first check
        analytics.identify("boot")
        gate = dest.get_feature_gate("vip")
        assert (gate.value, gate.evaluation_reason) == (True, "Bootstrap")
        assert dest.set_config_specs(specs(1_000, ["older"])) is False  # older than those in use
        assert dest.check_gate("vip") is True
        with pytest.raises(ValueError):
            dest.set_config_specs({"feature_gates": []})
    finally:
        analytics.shutdown(timeout=2)


@pytest.mark.parametrize("reply, reason", [({"has_updates": False}, "Bootstrap"), (specs(500, ["net"]), "Bootstrap"),
                                           (specs(3_000, ["net"]), "Network")])
def test_a_download_is_used_only_when_it_has_updates_and_is_not_older(tmp_path, fake_statsig, reply, reason):
    fake_statsig.set_config_specs(reply)
    analytics, dest = _client(tmp_path, fake_statsig)
    try:
        dest.set_config_specs(specs(2_000, ["boot"]))
        analytics.identify("net")
        dest.prefetch_values()
        assert dest.wait_for_values(5)
        assert _wait(lambda: len(fake_statsig.config_specs_requests) == 1)
        gate = dest.get_feature_gate("vip")
        assert (gate.value, gate.evaluation_reason) == (reason == "Network", reason)
    finally:
        analytics.shutdown(timeout=2)


def test_set_config_specs_without_on_device_evaluation_is_a_programmer_error():
    with pytest.raises(ValueError):
        StatsigDestination(KEY).set_config_specs(specs(1))


def test_a_check_is_never_answered_the_default_while_another_thread_changes_the_user_or_refreshes(tmp_path, fake_statsig):
    # The timeline hears of an identify after the caller made it (late under load), and
    # refresh_values() may come from any thread: either drops the reply made for the current
    # user. A check that made that reply must answer from it, not find it gone and answer
    # the default (the demo's gate failed a just-identified shopper in a run under CPU load).
    import threading

    fake_statsig.set_config_specs(specs(1_000, [f"u{i}" for i in range(1000)]))
    analytics, dest = _client(tmp_path, fake_statsig)
    stop = threading.Event()

    def meddle():
        while not stop.is_set():
            dest._values_refresh()  # what the timeline calls as it processes an identify or reset
            time.sleep(0)

    try:
        dest.prefetch_values()
        assert dest.wait_for_values(5)
        meddler = threading.Thread(target=meddle, daemon=True)
        meddler.start()
        answers = []
        for i in range(1000):
            analytics.identify(f"u{i}")
            answers.append(dest.check_gate("vip"))
        stop.set()
        meddler.join(5)
        assert answers.count(False) == 0, answers.count(False)
        assert fake_statsig.initialize_requests == []
    finally:
        stop.set()
        analytics.shutdown(timeout=2)
