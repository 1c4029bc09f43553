"""The fakes of the conformance harness: FakeStatsig and FakeSegmentCDN."""
import base64
import gzip
import json
import subprocess
import sys
import threading
import time

import pytest
import requests

from segment_statsig.testing import FakeSegmentCDN, FakeStatsig
from segment_statsig.testing._wire import encode_like_a_browser
from segment_statsig.testing.fake_statsig import djb2

KEY = "client-harnesstestkey"


def post(fake, path="/log_event", body=None, *, key=KEY, raw=None, headers=None, timeout=5, **kw):
    h = {"Content-Type": "application/json"}
    if key is not None and path == "/log_event":
        h["STATSIG-API-KEY"] = key
    h.update(headers or {})
    data = raw if raw is not None else json.dumps(body if body is not None else {"events": [{"eventName": "e"}]})
    return requests.post(fake.url + path, data=data, headers=h, timeout=timeout, **kw)


def events(*names):
    return {"events": [{"eventName": n, "user": {"userID": "u"}, "time": 1} for n in names],
            "statsigMetadata": {"sdkType": "test"}}


# -- intake -------------------------------------------------------------------------------

def test_url_is_api_url_on_loopback(fake_statsig):
    assert fake_statsig.url.startswith("http://127.0.0.1:")
    assert fake_statsig.url.endswith("/v1")


def test_plain_json_accepted_in_order_with_headers(fake_statsig):
    r = post(fake_statsig, body=events("a", "b"), headers={"STATSIG-EVENT-COUNT": "2"})
    assert r.status_code == 202 and r.json() == {"success": True}
    post(fake_statsig, body=events("c"))
    assert [e["eventName"] for e in fake_statsig.events] == ["a", "b", "c"]
    rec = fake_statsig.requests[0]
    assert rec.method == "POST" and rec.path == "/v1/log_event" and rec.status == 202
    assert rec.headers["statsig-api-key"] == KEY and rec.headers["STATSIG-EVENT-COUNT"] == "2"
    assert rec.body == events("a", "b") and not rec.compressed


def test_gzip_body_is_decoded(fake_statsig):
    raw = gzip.compress(json.dumps(events("zipped")).encode())
    r = post(fake_statsig, raw=raw, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 202
    assert fake_statsig.events[0]["eventName"] == "zipped"
    assert fake_statsig.requests[0].compressed


def test_broken_gzip_is_400(fake_statsig):
    r = post(fake_statsig, raw=b"not gzip at all", headers={"Content-Encoding": "gzip"})
    assert r.status_code == 400 and "gzip" in r.json()["error"]
    assert fake_statsig.events == []


def test_rgstr_with_key_in_query_and_text_plain(fake_statsig):
    r = requests.post(fake_statsig.url + f"/rgstr?k={KEY}&st=javascript-client&ec=1",
                      data=json.dumps(events("js")),
                      headers={"Content-Type": "text/plain;charset=UTF-8"}, timeout=5)
    assert r.status_code == 202
    assert fake_statsig.requests[0].query["st"] == "javascript-client"
    assert [e["eventName"] for e in fake_statsig.events] == ["js"]


@pytest.mark.parametrize("raw, fragment", [
    (b"{not json", "not JSON"),
    (b"[1, 2]", "JSON object"),
    (b'{"events": {"eventName": "x"}}', "'events' list"),
    (b'{"statsigMetadata": {}}', "'events' list"),
    (b'{"events": [{"eventName": 7}]}', "eventName"),
    (b'{"events": [{"user": {}}]}', "eventName"),
    (b'{"events": ["x"]}', "events[0]"),
    (b"\xff\xfe", "not JSON"),
])
def test_malformed_body_is_400_with_json_error(fake_statsig, raw, fragment):
    r = post(fake_statsig, raw=raw)
    assert r.status_code == 400
    assert fragment in r.json()["error"]
    assert fake_statsig.events == [] and fake_statsig.requests[0].status == 400


def test_key_check():
    with FakeStatsig(api_keys={KEY}) as fake:
        assert post(fake, key=None).status_code == 401
        assert post(fake, key="client-wrong").status_code == 401
        assert requests.post(fake.url + "/rgstr", json=events("x"), timeout=5).status_code == 401
        assert requests.post(fake.url + "/rgstr?k=client-wrong", json=events("x"), timeout=5).status_code == 401
        assert post(fake, key=KEY).status_code == 202
        assert requests.post(fake.url + f"/rgstr?k={KEY}", json=events("y"), timeout=5).status_code == 202
        assert [r.status for r in fake.requests] == [401, 401, 401, 401, 202, 202]
        assert "API key" in fake.requests[0].error
        assert len(fake.events) == 2


def test_any_non_empty_key_when_no_keys_configured(fake_statsig):
    assert post(fake_statsig, key="whatever").status_code == 202
    assert post(fake_statsig, key="").status_code == 401


def test_forbidden_event_names_are_dropped_like_statsig(fake_statsig):
    assert post(fake_statsig, body=events("ok", "bad=name", "also|bad")).status_code == 202
    assert [e["eventName"] for e in fake_statsig.events] == ["ok"]
    assert [(e["eventName"], "=" in why) for e, why in fake_statsig.dropped_events] == [
        ("bad=name", True), ("also|bad", False)]


def test_initialize_answers_empty_config(fake_statsig):
    r = requests.post(fake_statsig.url + f"/initialize?k={KEY}", json={"user": {}, "hash": "djb2"}, timeout=5)
    assert r.status_code == 200 and r.json()["feature_gates"] == {}


def test_unexpected_path_is_surfaced_as_assertion():
    with FakeStatsig() as fake:
        assert requests.get(fake.url + "/log_event", timeout=5).status_code == 404
        with pytest.raises(AssertionError, match="unexpected GET /v1/log_event"):
            fake.check_assertions()


# -- every form Statsig's client SDKs send --------------------------------------------------------

JS_QUERY = f"k={KEY}&st=javascript-client&sv=3.33.5&t=1714564800123&sid=s-1"
TEXT_PLAIN = {"Content-Type": "text/plain;charset=UTF-8"}


def js_post(fake, path, data, query=JS_QUERY, headers=None):
    return requests.post(f"{fake.url}{path}?{query}", data=data, headers={**TEXT_PLAIN, **(headers or {})},
                         timeout=5)


def test_rgstr_gzipped_by_query_gz_without_content_encoding(fake_statsig):
    raw = gzip.compress(json.dumps(events("zipped by gz")).encode())
    r = js_post(fake_statsig, "/rgstr", raw, query=JS_QUERY + "&ec=1&gz=1")
    assert r.status_code == 202, r.text
    assert [e["eventName"] for e in fake_statsig.events] == ["zipped by gz"]
    rec = fake_statsig.requests[0]
    assert (rec.compressed, rec.compressed_by, rec.encoded, rec.key_source) == (True, "query", False, "query")
    assert rec.form == {"endpoint": "rgstr", "key_source": "query", "compressed_by": "query", "encoded": False,
                        "content_type": "text/plain;charset=UTF-8"}


def test_gz_query_with_a_body_that_is_not_gzip_is_400(fake_statsig):
    r = js_post(fake_statsig, "/rgstr", json.dumps(events("plain")), query=JS_QUERY + "&gz=1")
    assert r.status_code == 400 and "gz=1" in r.json()["error"]
    assert fake_statsig.events == [] and fake_statsig.refused_requests == fake_statsig.requests


def test_content_encoding_gzip_is_compressed_by_header(fake_statsig):
    post(fake_statsig, raw=gzip.compress(json.dumps(events("z")).encode()), headers={"Content-Encoding": "gzip"})
    rec = fake_statsig.requests[0]
    assert (rec.compressed_by, rec.key_source, rec.endpoint) == ("header", "header", "log_event")


def test_statsig_encoded_body_se_1(fake_statsig):
    text = json.dumps(events("encodé"), ensure_ascii=False)  # Latin-1 passes btoa()
    r = js_post(fake_statsig, "/rgstr", encode_like_a_browser(text), query=JS_QUERY + "&se=1")
    assert r.status_code == 202, r.text
    assert [e["eventName"] for e in fake_statsig.events] == ["encodé"]
    assert fake_statsig.requests[0].encoded and not fake_statsig.requests[0].compressed
    assert base64.b64decode(encode_like_a_browser("{}")[::-1]) == b"{}"
    with pytest.raises(ValueError, match="btoa"):
        encode_like_a_browser("名前")  # a browser's btoa refuses it; the client sends it plain


def test_encoded_then_gzipped_is_undone_in_the_right_order(fake_statsig):
    body = gzip.compress(encode_like_a_browser(json.dumps({"user": {"userID": "u"}, "hash": "djb2"})))
    r = js_post(fake_statsig, "/initialize", body, query=JS_QUERY + "&se=1&gz=1")
    assert r.status_code == 200, r.text
    rec = fake_statsig.initialize_requests[0]
    assert rec.encoded and rec.compressed_by == "query" and rec.body["user"] == {"userID": "u"}


def test_se_1_with_a_body_that_is_not_reversed_base64_is_400(fake_statsig):
    r = js_post(fake_statsig, "/initialize", json.dumps({"user": {}}), query=JS_QUERY + "&se=1")
    assert r.status_code == 400 and "se=1" in r.json()["error"]


def test_sdk_query_parameters_and_headers_read_alike(fake_statsig):
    js_post(fake_statsig, "/rgstr", json.dumps(events("a", "b")), query=JS_QUERY + "&ec=2")
    post(fake_statsig, body=events("c"), headers={"STATSIG-SDK-TYPE": "py", "STATSIG-SDK-VERSION": "1.0",
                                                  "STATSIG-CLIENT-TIME": "17", "STATSIG-EVENT-COUNT": "1"})
    js, ours = fake_statsig.requests
    assert (js.api_key, js.sdk_type, js.sdk_version, js.client_time, js.session_id, js.event_count) == (
        KEY, "javascript-client", "3.33.5", "1714564800123", "s-1", "2")
    assert (ours.api_key, ours.sdk_type, ours.sdk_version, ours.client_time, ours.session_id, ours.event_count) == (
        KEY, "py", "1.0", "17", None, "1")
    assert ours.as_dict()["key_source"] == "header" and js.as_dict()["compressed_by"] is None


def test_sdk_exception_reports_are_kept_apart_from_events(fake_statsig):
    r = requests.post(fake_statsig.url + "/sdk_exception", json={"tag": "eb:wrap", "exception": "TypeError"},
                      headers={"STATSIG-API-KEY": KEY}, timeout=5)
    assert r.status_code == 202
    assert fake_statsig.sdk_exceptions == [{"tag": "eb:wrap", "exception": "TypeError"}]
    assert fake_statsig.events == [] and fake_statsig.event_requests == []


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


# -- waiting and hooks ------------------------------------------------------------------------

def test_wait_for_events_is_bounded(fake_statsig):
    t0 = time.monotonic()
    assert fake_statsig.wait_for_events(1, timeout=0.2) is False
    assert time.monotonic() - t0 < 2

    def later():
        post(fake_statsig, body=events("late"))
    threading.Timer(0.1, later).start()
    assert fake_statsig.wait_for_events(1, timeout=5) is True


def test_on_request_hook_sees_each_record(fake_statsig):
    seen = []
    fake_statsig.on_request(lambda rec: seen.append((rec.path, rec.status)))
    post(fake_statsig)
    post(fake_statsig, raw=b"junk")
    assert fake_statsig.wait_for_requests(2, 5)
    assert seen == [("/v1/log_event", 202), ("/v1/log_event", 400)]


def test_broken_hook_is_reported_not_fatal():
    with FakeStatsig() as fake:
        fake.on_request(lambda rec: 1 / 0)
        assert post(fake).status_code == 202
        with pytest.raises(AssertionError, match="ZeroDivisionError"):
            fake.check_assertions()


# -- faults -------------------------------------------------------------------------------------

def test_status_sequence_then_normal_with_retry_after(fake_statsig):
    fake_statsig.respond_with_statuses([503, 429, 200], retry_after=7)
    r1, r2, r3, r4 = (post(fake_statsig, body=events(f"e{i}")) for i in range(4))
    assert (r1.status_code, r1.headers["Retry-After"]) == (503, "7")
    assert (r2.status_code, r2.headers["Retry-After"]) == (429, "7")
    assert r3.status_code == 200 and "Retry-After" not in r3.headers
    assert r4.status_code == 202
    assert [e["eventName"] for e in fake_statsig.events] == ["e2", "e3"]
    assert [r.status for r in fake_statsig.requests] == [503, 429, 200, 202]
    assert fake_statsig.requests[0].body == events("e0")  # refused bodies are still logged


def test_final_4xx_status(fake_statsig):
    fake_statsig.respond_with_statuses([400])
    assert post(fake_statsig).status_code == 400
    assert fake_statsig.events == []


def test_offline_answers_503_until_back(fake_statsig):
    fake_statsig.set_offline(True)
    assert post(fake_statsig).status_code == 503
    assert requests.post(fake_statsig.url + f"/initialize?k={KEY}", json={}, timeout=5).status_code == 503
    assert fake_statsig.events == []
    fake_statsig.set_offline(False)
    assert post(fake_statsig).status_code == 202
    assert len(fake_statsig.events) == 1


def test_delay_longer_than_client_timeout(fake_statsig):
    fake_statsig.delay_next(0.8)
    t0 = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        post(fake_statsig, body=events("slow"), timeout=0.3)
    assert time.monotonic() - t0 < 0.7
    assert fake_statsig.wait_for_requests(1, timeout=5)
    rec = fake_statsig.requests[0]
    assert rec.status is None and "closed" in rec.error and rec.fault == "delay"
    assert fake_statsig.events == []  # the client never saw a 2xx
    assert post(fake_statsig, body=events("next")).status_code == 202  # the next one is normal


def test_delay_shorter_than_client_timeout_is_answered(fake_statsig):
    fake_statsig.delay_next(0.3)
    t0 = time.monotonic()
    assert post(fake_statsig, body=events("slow"), timeout=5).status_code == 202
    assert time.monotonic() - t0 >= 0.3
    assert [e["eventName"] for e in fake_statsig.events] == ["slow"]


def test_delayed_request_does_not_block_other_requests(fake_statsig):
    fake_statsig.delay_next(1.0)
    slow = threading.Thread(target=lambda: post(fake_statsig, body=events("slow"), timeout=5))
    slow.start()
    assert fake_statsig.wait_for_faults_used(5)  # the slow request holds the delay
    t0 = time.monotonic()
    assert post(fake_statsig, body=events("fast")).status_code == 202
    assert time.monotonic() - t0 < 0.8
    slow.join(5)
    assert [e["eventName"] for e in fake_statsig.events] == ["fast", "slow"]


def test_stop_does_not_wait_for_a_long_delay():
    fake = FakeStatsig().start()
    fake.delay_next(30)
    t = threading.Thread(target=lambda: _swallow(lambda: post(fake, timeout=0.2)))
    t.start()
    t.join(5)
    t0 = time.monotonic()
    fake.stop()
    assert time.monotonic() - t0 < 5


def _swallow(fn):
    try:
        fn()
    except requests.RequestException:
        pass


def test_drop_next_connection(fake_statsig):
    fake_statsig.drop_next_connection()
    with pytest.raises(requests.exceptions.ConnectionError):
        post(fake_statsig, body=events("lost"))
    rec = fake_statsig.requests[0]
    assert rec.status is None and rec.fault == "drop" and rec.body == events("lost")
    assert fake_statsig.events == []
    assert post(fake_statsig, body=events("next")).status_code == 202


def test_answer_non_json_next(fake_statsig):
    fake_statsig.answer_non_json_next()
    r = post(fake_statsig, body=events("x"))
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    assert fake_statsig.events == []
    assert post(fake_statsig).json() == {"success": True}


def test_faults_queue_in_order(fake_statsig):
    fake_statsig.respond_with_statuses([500])
    fake_statsig.drop_next_connection()
    fake_statsig.answer_non_json_next()
    assert post(fake_statsig).status_code == 500
    with pytest.raises(requests.exceptions.ConnectionError):
        post(fake_statsig)
    assert post(fake_statsig).headers["Content-Type"].startswith("text/html")
    assert post(fake_statsig).status_code == 202
    assert fake_statsig.pending_faults == 0


def test_clear_forgets_everything(fake_statsig):
    post(fake_statsig)
    fake_statsig.respond_with_statuses([503])
    fake_statsig.set_offline(True)
    fake_statsig.clear()
    assert fake_statsig.requests == [] and fake_statsig.events == []
    assert post(fake_statsig).status_code == 202


# -- usable without pytest --------------------------------------------------------------------

def test_usable_without_pytest_in_a_plain_process():
    code = (
        "import sys, json, urllib.request\n"
        "from segment_statsig.testing import FakeStatsig\n"
        "assert 'pytest' not in sys.modules\n"
        "f = FakeStatsig(api_keys={'client-k'}).start()\n"
        "req = urllib.request.Request(f.url + '/log_event', data=b'{\"events\":[{\"eventName\":\"x\"}]}',"
        " headers={'STATSIG-API-KEY': 'client-k'}, method='POST')\n"
        "print(urllib.request.urlopen(req, timeout=5).status, len(f.events))\n"
        "f.stop(); f.stop()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["202", "1"]


def test_testing_package_is_cheap_and_not_imported_by_core():
    code = (
        "import sys\n"
        "import segment_statsig.testing\n"
        "heavy = [m for m in ('werkzeug', 'pytest_httpserver', 'requests') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    core = subprocess.run([sys.executable, "-c", "import sys, segment_statsig; "
                           "print('segment_statsig.testing' in sys.modules)"],
                          capture_output=True, text=True, timeout=60)
    assert core.returncode == 0, core.stderr
    assert core.stdout.strip() == "False"


def test_context_manager_stops_and_url_requires_start():
    fake = FakeStatsig()
    with pytest.raises(RuntimeError, match="start"):
        fake.url
    with fake:
        assert fake.is_running
    assert not fake.is_running


# -- FakeSegmentCDN -----------------------------------------------------------------------------

SETTINGS = {"integrations": {"Statsig": {"apiKey": KEY}, "Segment.io": {"apiKey": "wk-1"}}}


def test_cdn_serves_settings_per_write_key(fake_segment_cdn):
    fake_segment_cdn.set_settings("wk-1", SETTINGS)
    r = requests.get(fake_segment_cdn.url + "/v1/projects/wk-1/settings", timeout=5)
    assert r.status_code == 200 and r.json() == SETTINGS
    assert requests.get(fake_segment_cdn.url + "/v1/projects/other/settings", timeout=5).status_code == 404
    assert [r.status for r in fake_segment_cdn.settings_requests] == [200, 404]


def test_cdn_error_status_and_faults(fake_segment_cdn):
    fake_segment_cdn.set_error("wk-2", 500)
    assert requests.get(fake_segment_cdn.url + "/v1/projects/wk-2/settings", timeout=5).status_code == 500
    fake_segment_cdn.set_settings("wk-2", SETTINGS)
    fake_segment_cdn.respond_with_statuses([503])
    assert requests.get(fake_segment_cdn.url + "/v1/projects/wk-2/settings", timeout=5).status_code == 503
    assert requests.get(fake_segment_cdn.url + "/v1/projects/wk-2/settings", timeout=5).json() == SETTINGS


def _basic(key):
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def test_cdn_batch_with_basic_auth(fake_segment_cdn):
    fake_segment_cdn.set_settings("wk-1", SETTINGS)
    body = {"batch": [{"type": "track", "event": "A", "integrations": {"Statsig": False}}], "sentAt": "x"}
    assert requests.post(fake_segment_cdn.api_url + "/v1/batch", json=body, headers=_basic("wk-1"),
                         timeout=5).status_code == 200
    assert requests.post(fake_segment_cdn.api_url + "/v1/batch", json=body, headers=_basic("wk-x"),
                         timeout=5).status_code == 401
    assert requests.post(fake_segment_cdn.api_url + "/v1/batch", json=body, timeout=5).status_code == 401
    gz = gzip.compress(json.dumps(body).encode())
    assert requests.post(fake_segment_cdn.api_url + "/v1/batch", data=gz,
                         headers={**_basic("wk-1"), "Content-Encoding": "gzip"}, timeout=5).status_code == 200
    assert requests.post(fake_segment_cdn.api_url + "/v1/batch", data=b"{}", headers=_basic("wk-1"),
                         timeout=5).status_code == 400
    assert fake_segment_cdn.batches == [body, body]
    assert [e["event"] for e in fake_segment_cdn.cloud_events] == ["A", "A"]


def test_cdn_unexpected_request_surfaces():
    with FakeSegmentCDN() as cdn:
        assert requests.get(cdn.url + "/v2/nothing", timeout=5).status_code == 404
        with pytest.raises(AssertionError, match="unexpected GET /v2/nothing"):
            cdn.check_assertions()


def test_fixture_teardown_surfaces_server_side_failures(tmp_path):
    (tmp_path / "test_inner.py").write_text(
        "import requests\n"
        "def test_hits_wrong_path(fake_statsig):\n"
        "    requests.get(fake_statsig.url + '/nope', timeout=5)\n"
        "def test_fine(fake_statsig, fake_segment_cdn):\n"
        "    assert fake_statsig.url != fake_segment_cdn.url\n"
    )
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-o", "addopts=", str(tmp_path)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert "2 passed, 1 error" in out.stdout  # test passed, its teardown errored, out.stdout + out.stderr
    assert "unexpected GET /v1/nope" in out.stdout
