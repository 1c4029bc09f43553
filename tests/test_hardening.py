"""Hardening: hostile URLs and keys let nothing out, hostile values and
timestamps never raise anything but ValueError/TypeError on the caller's thread and are
never accepted and then dropped, one huge event holds up nothing, flush() never beats
the backoff, the storage path does not name the write key, and batches respect the
receiver's byte limits."""
import decimal
import hashlib
import json
import logging
import math
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segment_statsig import Analytics, DestinationPlugin, SegmentDestination, StatsigDestination
from segment_statsig.delivery.urls import check_url

KEY = "client-test-key-0123456789"


# --- 2, 3: URLs --------------------------------------------------------------------------
HOSTILE_URLS = [
    "http://example.invalid\\@127.0.0.1/v1", "http://example.invalid%5C@127.0.0.1/v1",
    "http://user:pw@127.0.0.1/v1", "http://127.0.0.1@example.invalid/v1", "http://127.0.0.1#@example.invalid/v1",
    "http://127.0.0.1/v1#frag", "http://127.0.0.1/v1?x=1", "http://127.0.0.1 /v1", "http://127.0.0.1\t/v1",
    "http://127.0.0.1\n/v1", "https://a\n", "https://example.com/v1\n", "http://127.1/v1", "http://0x7f.0.0.1/v1", "http://2130706433/v1",
    "http://0177.0.0.1/v1", "http://127.0.0.1.example.invalid/v1", "http://localhost.example.invalid/v1",
    "http://[::ffff:8.8.8.8]/v1", "http://[::1/v1", "http://127.0.0.1:99999/v1", "http://127.0.0.1:/v1",
    "http://127.0.0.1:8a/v1", "https://exa mple.com/v1", "https://example.com\\@evil.invalid/v1",
    "http://%31%32%37.0.0.1/v1", "http://ex%61mple.com/v1", "ftp://127.0.0.1/v1", "//127.0.0.1/v1",
    "https:///v1", "http://example.invalid/v1", "", 7,
]


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_urls_two_parsers_could_read_differently_are_refused(url):
    with pytest.raises(ValueError):
        check_url(url)
    with pytest.raises(ValueError):
        StatsigDestination(KEY, api_url=url)


@pytest.mark.parametrize("url", ["http://example.invalid\\@127.0.0.1/v1", "http://example.invalid", "ftp://x/y"])
def test_cdn_url_and_segment_api_url_follow_the_same_rule(tmp_path, url):
    with pytest.raises(ValueError, match="cdn_url"):
        Analytics("WK", storage_dir=tmp_path, cdn_url=url)
    with pytest.raises(ValueError, match="api_url"):
        Analytics("WK", storage_dir=tmp_path, api_url=url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/v1", "http://localhost:9/v1", "http://[::1]:9/v1",
                                 "http://127.8.9.10/v1/", "HTTPS://Events.StatsigAPI.net/v1",
                                 "https://cdn-settings.segment.com"])
def test_plain_loopback_and_https_urls_pass(url):
    assert check_url(url) == check_url(url).rstrip("/")


host_chars = st.sampled_from(list("abz09.-:@\\/[]%#?& \t\n") + ["127.0.0.1", "localhost", "::1", "example.invalid"])
url_tails = st.lists(host_chars, max_size=10).map("".join)


@settings(max_examples=2000, deadline=None)
@given(scheme=st.sampled_from(["http://", "https://", "HTTP://"]), tail=url_tails)
def test_what_the_check_accepts_urllib3_reads_alike(scheme, tail):
    """For every URL the check accepts, the parser that connects (urllib3, run here)
    sees the same scheme, host and port, and plain http only goes to loopback."""
    from urllib3.util import parse_url

    url = scheme + tail
    try:
        checked = check_url(url)
    except ValueError:
        return
    ours, theirs = parse_url(checked), parse_url(url)
    assert (theirs.scheme, theirs.host, theirs.port) == (ours.scheme, ours.host, ours.port)
    assert theirs.auth is None and theirs.query is None and theirs.fragment is None
    if theirs.scheme == "http":
        assert theirs.host in ("localhost", "[::1]") or theirs.host.startswith("127."), url


# --- 4: keys -----------------------------------------------------------------------------
@pytest.mark.parametrize("key", [" secret-abc", "\tsecret-abc", "\nsecret-abc", "SECRET-abc", " Secret-abc "])
def test_a_server_secret_with_whitespace_or_case_is_still_refused(key):
    with pytest.raises(ValueError, match="server secret"):
        StatsigDestination(key, api_url="http://127.0.0.1:9/v1")


@pytest.mark.parametrize("key", ["client-abc\r\nX-Evil: 1", "client-a\nb", "client-a\x00b", "client-a b", "client-é"])
def test_a_key_with_control_or_odd_characters_is_refused(key):
    with pytest.raises(ValueError) as refused:
        StatsigDestination(key, api_url="http://127.0.0.1:9/v1")
    assert key not in str(refused.value)


@pytest.mark.parametrize("key", [" secret-ServerSecret0123", "client-abc\r\ndef"])
def test_a_bad_key_from_settings_is_refused_and_events_stay_queued(tmp_path, fake_statsig, caplog, key):
    caplog.set_level(logging.DEBUG)
    analytics = Analytics(storage_dir=tmp_path, settings={"integrations": {"Statsig": {"apiKey": key}}},
                          flush_interval=0.05)
    destination = analytics.add(StatsigDestination(api_url=fake_statsig.url))
    try:
        analytics.track("Kept")
        assert not analytics.flush(timeout=0.5)
        assert fake_statsig.event_requests == []
        assert destination.queue_depth == 1 and not destination.ready()
        assert "refused" in caplog.text
        assert key.strip() not in caplog.text and key.strip() not in str(destination.stats.last_error)
    finally:
        analytics.shutdown(0.5)


# --- 5, 6: bad values and timestamps, property-based ------------------------------------
class Recorder(DestinationPlugin):
    key = "Recorder"

    def __init__(self):
        super().__init__()
        self.seen = []

    def track(self, event):
        self.seen.append(event["properties"].get("seq"))
        return event


class BadLt:
    def __lt__(self, other):
        raise ZeroDivisionError("no order")

    def __hash__(self):
        return 1


class BadItems(dict):
    def items(self):
        raise RuntimeError("items() broke")

    def keys(self):
        raise RuntimeError("keys() broke")


class BadIter(list):
    def __iter__(self):
        raise RuntimeError("__iter__ broke")


class BadMapping:
    """A Mapping by registration whose every read raises."""

    def __getitem__(self, key):
        raise KeyError(key)

    def __iter__(self):
        raise RuntimeError("no")

    def __len__(self):
        raise OverflowError("no")


import collections.abc  # noqa: E402

collections.abc.Mapping.register(BadMapping)

hostile_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=10),
    st.decimals(allow_nan=True, allow_infinity=True), st.builds(BadLt), st.just(decimal.Decimal("sNaN")),
    st.builds(lambda: BadItems(a=1)), st.builds(lambda: BadIter([1, 2])),
    st.builds(lambda: {decimal.Decimal("NaN"), decimal.Decimal(1)}), st.builds(lambda: {BadLt(), BadLt()}),
    st.builds(lambda: frozenset({BadLt(), 1})), st.builds(BadMapping))
hostile = st.recursive(hostile_leaves, lambda c: st.one_of(
    st.lists(c, max_size=3), st.dictionaries(st.text(max_size=5), c, max_size=3), st.lists(c, max_size=2).map(tuple)),
    max_leaves=8)
timestamps = st.one_of(
    st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.just(10 ** 400), st.just(-(10 ** 400)), st.just(2 ** 63), st.just(1e20), st.just(1.7e12),
    st.sampled_from(["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "1969-12-31T23:59:59Z", "2024-05-01",
                     "2024-13-01T00:00:00Z", "not a time", "", "2024-05-01T12:00:00+25:00"]),
    st.datetimes(), st.decimals(allow_nan=True, allow_infinity=True, places=3), st.booleans())


@pytest.fixture(scope="module")
def shared_client(tmp_path_factory):
    analytics = Analytics(storage_dir=tmp_path_factory.mktemp("hostile"), settings={"integrations": {}},
                          flush_interval=0.05)
    recorder = analytics.add(Recorder())
    statsig = analytics.add(StatsigDestination(KEY, api_url="http://127.0.0.1:9/v1", flush_at=10 ** 6,
                                               flush_interval=3600))
    yield analytics, recorder, statsig
    analytics.shutdown(0.5)


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(properties=st.one_of(hostile, st.dictionaries(st.text(max_size=5), hostile, max_size=4), st.builds(BadMapping),
                            st.builds(lambda: BadItems(a=1))),
       context=st.none() | st.dictionaries(st.text(max_size=5), hostile, max_size=2), timestamp=timestamps,
       seq=st.integers(0, 10 ** 9))
def test_hostile_values_and_timestamps_raise_only_value_or_type_errors_and_are_never_dropped(
        shared_client, properties, context, timestamp, seq):
    analytics, recorder, statsig = shared_client
    if isinstance(properties, dict) and type(properties) is dict:
        properties = {**properties, "seq": seq}
    assert analytics.worker.wait_processed(time.monotonic() + 10)
    before, queued = len(recorder.seen), statsig.stats.snapshot()["queued"] + len(statsig._pending)
    try:
        analytics.track("Hostile", properties, context=context, timestamp=timestamp)
    except (ValueError, TypeError) as error:
        assert str(error)
        return
    except BaseException as error:  # noqa: B902 - the point of the test
        pytest.fail(f"track() raised {type(error).__name__}: {error!r}")
    assert analytics.worker.wait_processed(time.monotonic() + 10)
    assert len(recorder.seen) == before + 1, "accepted, then dropped by the timeline"
    statsig.commit()
    assert statsig.stats.snapshot()["queued"] >= queued + 1, "accepted, then dropped by the Statsig mapping"
    if type(properties) is dict:
        assert recorder.seen[-1] == seq


@pytest.mark.parametrize("timestamp", [math.nan, math.inf, -math.inf, 1e20, 2 ** 63, 10 ** 400, 1.7e12,
                                       "10000-01-01T00:00:00Z"])
def test_timestamps_that_cannot_be_delivered_are_refused_on_the_callers_thread(tmp_path, timestamp):
    analytics = Analytics(storage_dir=tmp_path, settings={"integrations": {}})
    try:
        with pytest.raises(ValueError, match="timestamp"):
            analytics.track("When", timestamp=timestamp)
    finally:
        analytics.shutdown(0.5)


@pytest.mark.parametrize("timestamp,iso", [("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"),
                                           ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"),
                                           (-1.5, "1969-12-31T23:59:58.500Z"), (0, "1970-01-01T00:00:00.000Z")])
def test_timestamps_at_the_edges_are_delivered_as_given(make_client, fake_statsig, timestamp, iso):
    from segment_statsig.analytics.events import unix_ms

    analytics, _ = make_client()
    analytics.track("Edge", timestamp=timestamp)
    assert analytics.flush(timeout=10)
    (event,) = fake_statsig.events
    assert event["time"] == unix_ms(iso)


# --- 1: one huge event -------------------------------------------------------------------
def test_an_event_with_20000_properties_is_processed_in_linear_time(make_client, fake_statsig, log_records):
    analytics, destination = make_client()
    analytics.track("Wide", {f"key{i}": "v" * 10 for i in range(20_000)})
    analytics.track("Behind It")
    started = time.monotonic()
    assert analytics.flush(timeout=20), destination.stats.snapshot()
    assert time.monotonic() - started < 10
    wide, behind = fake_statsig.events
    assert wide["metadata"]["statsig_metadata_truncated"] == "true"
    assert len(json.dumps(wide["metadata"], separators=(",", ":"), ensure_ascii=False)) <= 4096
    assert behind["eventName"] == "segment_track:Behind It"


def test_metadata_trimming_cost_grows_linearly():
    from segment_statsig.statsig.mapping import fit_metadata

    def cost(n):
        metadata = {f"key{i}": "v" * 10 for i in range(n)}
        started = time.perf_counter()
        fit_metadata(metadata, "wide")
        return time.perf_counter() - started

    cost(1000)
    small, large = min(cost(2000) for _ in range(3)), min(cost(16000) for _ in range(3))
    assert large < 8 * small * 3, (small, large)  # 8x the keys: linear (x8), not quadratic (x64)


class Exploding(DestinationPlugin):
    key = "Exploding"

    def track(self, event):
        if event["properties"].get("explode"):
            raise RuntimeError("this plugin cannot take it")
        return event


def test_an_event_a_plugin_cannot_process_is_quarantined_counted_and_logged(make_client, fake_statsig, log_records):
    analytics, destination = make_client()
    analytics.add(Exploding())
    analytics.track("Boom", {"explode": True})
    analytics.track("Fine")
    assert analytics.flush(timeout=10)
    assert [e["eventName"] for e in fake_statsig.events] == ["segment_track:Boom", "segment_track:Fine"]
    assert "Exploding" in log_records.text and "Boom" in log_records.text
    (line,) = open(os.path.join(analytics.storage_dir, "quarantine.jsonl")).read().splitlines()
    kept = json.loads(line)
    assert kept["where"] == "Exploding" and kept["record"]["event"] == "Boom" and "cannot take it" in kept["error"]


def test_a_record_the_timeline_cannot_read_is_set_aside_and_the_rest_flow(make_client, fake_statsig, log_records):
    analytics, destination = make_client()
    analytics.track("Before")
    # A record of the right shape whose message id is not hex: to_event() cannot make an event of it.
    analytics.journal.append(b'["track",1714564800.0,"not-hex-not-hex-not-hex-not-hex",null,null,{"event":"Odd"},null,null]\n')
    analytics.track("After")
    assert analytics.flush(timeout=10)
    assert [e["eventName"] for e in fake_statsig.events] == ["segment_track:Before", "segment_track:After"]
    assert analytics.worker.quarantined == 1 and "set aside" in log_records.text
    kept = json.loads(open(os.path.join(analytics.storage_dir, "quarantine.jsonl")).read())
    assert kept["where"] == "timeline" and '"Odd"' in kept["record"]


# --- 11: flush() and backoff -------------------------------------------------------------
def test_flush_during_an_outage_makes_at_most_one_attempt_per_backoff_step(make_client, fake_statsig):
    fake_statsig.set_offline(True)
    analytics, destination = make_client(dest_options={"retry_base": 0.4, "retry_max": 0.4})
    analytics.track("Waiting")
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        analytics.flush()
        time.sleep(0.05)
    requests = fake_statsig.event_requests
    # 40 flush() calls; backoff steps of up to 0.4 s: each step allows one attempt.
    gaps = [b.received_at - a.received_at for a, b in zip(requests, requests[1:])]
    assert len(requests) <= 15, len(requests)
    assert destination.stats.snapshot()["retried"] == len(requests)
    fake_statsig.set_offline(False)
    assert analytics.flush(timeout=5)
    assert len(fake_statsig.events) == 1
    assert all(g >= 0 for g in gaps)


def test_after_a_429_flush_waits_for_the_backoff_as_the_docs_say(make_client, fake_statsig):
    fake_statsig.respond_with_statuses([429])
    analytics, destination = make_client(dest_options={"retry_base": 0.5, "retry_max": 0.5})
    analytics.track("Limited")
    assert fake_statsig.wait_for_requests(1, timeout=5) if analytics.flush() is None else True
    for _ in range(10):
        analytics.flush()
    assert analytics.flush(timeout=5)
    assert [r.status for r in fake_statsig.event_requests] == [429, 202]


# --- 13: the storage path ----------------------------------------------------------------
def test_the_default_storage_folder_does_not_name_the_write_key(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    write_key = "wk-PrivateWriteKey-0123456789"
    analytics = Analytics(write_key, cdn_url="http://127.0.0.1:9", api_url="http://127.0.0.1:9", settings={})
    try:
        assert write_key not in analytics.storage_dir and write_key not in repr(analytics)
        assert hashlib.sha256(write_key.encode()).hexdigest()[:16] in analytics.storage_dir
    finally:
        analytics.shutdown(0.2)


def test_a_folder_named_by_the_write_key_is_moved_to_its_new_name(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    write_key = "wk-Old-0123456789"
    old = tmp_path / ".segment-statsig" / write_key
    old.mkdir(parents=True)
    (old / "user.json").write_text(json.dumps({"anonymousId": "kept-anon", "userId": None, "traits": {}}))
    analytics = Analytics(write_key, cdn_url="http://127.0.0.1:9", api_url="http://127.0.0.1:9", settings={})
    try:
        assert analytics.anonymous_id == "kept-anon"
        assert not old.exists()
    finally:
        analytics.shutdown(0.2)


# --- 14: batches within the receiver's byte limits -----------------------------------------
def test_segment_batches_stay_under_500_kb_and_an_oversized_event_goes_alone(tmp_path, fake_segment_cdn, log_records):
    write_key = "wk-bytes"
    fake_segment_cdn.set_settings(write_key, {"integrations": {}})
    analytics = Analytics(write_key, storage_dir=tmp_path, cdn_url=fake_segment_cdn.url,
                          api_url=fake_segment_cdn.api_url, flush_at=1000, flush_interval=0.05)
    try:
        for i in range(100):
            analytics.track("Six KB", {"i": i, "blob": "x" * 6000})
        analytics.track("Too Big", {"blob": "y" * 40_000})
        for i in range(99):
            analytics.track("Small", {"i": i})
        assert analytics.flush(timeout=20)
        names = [e["event"] for e in fake_segment_cdn.cloud_events]
        assert names.count("Six KB") == 100 and names.count("Small") == 99
        assert all(r.status == 200 for r in fake_segment_cdn.requests if r.path == "/v1/batch")
        assert all(len(r.raw) <= 500_000 for r in fake_segment_cdn.requests if r.path == "/v1/batch")
        segment = analytics.find(SegmentDestination)
        assert segment.stats.snapshot()["dropped"] == 1
        assert "Too Big" in log_records.text and "32" in log_records.text
    finally:
        analytics.shutdown(2)


def test_the_fake_segment_api_enforces_segments_limits(fake_segment_cdn):
    import requests

    fake_segment_cdn.set_settings("wk", {"integrations": {}})
    url = fake_segment_cdn.api_url + "/v1/batch"
    big = {"batch": [{"type": "track", "event": "x", "properties": {"b": "z" * 40_000}}], "writeKey": "wk"}
    assert requests.post(url, json=big, auth=("wk", ""), timeout=5).status_code == 400
    many = {"batch": [{"type": "track", "event": "x", "properties": {"b": "z" * 6000}}] * 100, "writeKey": "wk"}
    assert requests.post(url, json=many, auth=("wk", ""), timeout=5).status_code == 400
    fine = {"batch": [{"type": "track", "event": "x", "properties": {"b": "z" * 6000}}] * 10, "writeKey": "wk"}
    assert requests.post(url, json=fine, auth=("wk", ""), timeout=5).status_code == 200


def test_retry_now_ends_the_backoff_step_but_not_a_servers_retry_after(make_client, fake_statsig):
    fake_statsig.respond_with_statuses([503])
    analytics, destination = make_client(dest_options={"retry_base": 3600, "retry_max": 3600})
    analytics.track("Back Online")
    analytics.flush()
    assert fake_statsig.wait_for_requests(1, timeout=5)
    assert not analytics.flush(timeout=0.3)  # an hour's backoff: flush() waits for it
    destination.retry_now()                 # the network is back
    assert analytics.flush(timeout=5)
    assert [r.status for r in fake_statsig.event_requests] == [503, 202]
    fake_statsig.respond_with_statuses([429], retry_after=30)
    analytics.track("Held")
    analytics.flush()
    assert fake_statsig.wait_for_requests(3, timeout=5)
    destination.retry_now()
    assert not analytics.flush(timeout=0.5)  # the server asked for 30 s
    assert len(fake_statsig.event_requests) == 3


def test_an_app_that_seeds_random_does_not_repeat_message_ids(make_client, fake_segment_cdn, tmp_path):
    import random

    ids = []
    for run in range(2):
        random.seed(1234)  # what a game does at each launch
        analytics = Analytics(storage_dir=tmp_path / f"run{run}", settings={"integrations": {}})
        seen = analytics.add(Recorder())
        seen.ids = []
        seen.track = lambda event, seen=seen: seen.ids.append(event["messageId"]) or event
        analytics.track("Launched")
        assert analytics.flush(timeout=5)
        ids += seen.ids
        analytics.shutdown(1)
    assert len(ids) == 2 and ids[0] != ids[1]
