"""The fake Statsig's intake: what it accepts, refuses and records, in every form Statsig's SDKs send."""
import base64
import gzip
import json

import pytest
import requests

from segment_statsig.testing import FakeStatsig
from segment_statsig.testing._wire import encode_like_a_browser

from .harness_posts import JS_QUERY, KEY, events, js_post, post


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
