"""Hardening: JSON nested deeper than Python's parser follows (a CDN reply 100,000 levels
deep) is damaged input to every parser of outside input: CDN settings, initialize and
log_event replies, journal lines, queue rows, values caches and the storage folder's JSON
files. Each logs it and goes on; no thread dies, nothing else is lost."""
import json
import logging
import sqlite3
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug import Response

from segment_statsig import Analytics, StatsigDestination
from segment_statsig.analytics.settings import SettingsLoader
from segment_statsig.delivery import policy
from segment_statsig.statsig.initialize_reply import MalformedReply, parse_reply
from segment_statsig.statsig.values_cache import ValuesCache, cache_name
from segment_statsig.storage import quarantine
from segment_statsig.storage.files import APP, PRIVACY, QUARANTINE, SETTINGS, STATSIG_QUEUE, USER, read_json
from segment_statsig.storage.records import read_records

from .conftest import KEY

WRITE_KEY = "write-key-nesting"
GOOD_RECORD = b'["track",1714564801.0,"' + b"b" * 32 + b'","anon",null,{"event":"After"},null,null]'


def nested(depth, kind="[", closed=True):
    """JSON `depth` levels deep: lists or objects, closed or cut short."""
    if kind == "[":
        return "[" * depth + ("]" * depth if closed else "")
    return '{"a":' * depth + ("1" + "}" * depth if closed else "")


deep_texts = st.builds(nested, st.integers(min_value=1, max_value=200_000), st.sampled_from(["[", "{"]),
                       st.booleans())


@pytest.fixture
def cdn(httpserver):
    """A loopback CDN answering whatever `cdn.text` holds, as JSON, 200."""
    class Cdn:
        text = "{}"
        url = httpserver.url_for("").rstrip("/")

    httpserver.expect_request(f"/v1/projects/{WRITE_KEY}/settings").respond_with_handler(
        lambda request: Response(Cdn.text, status=200, content_type="application/json"))
    return Cdn


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=deep_texts)
def test_every_parser_takes_deep_nesting_for_damage(tmp_path, cdn, text):
    # Segment's CDN settings, fetched as the settings thread fetches them
    cdn.text = text
    got = SettingsLoader(WRITE_KEY, cdn.url, str(tmp_path), timeout=5).fetch()
    assert got is None or isinstance(got, dict)
    # the initialize reply
    try:
        assert isinstance(parse_reply(text), dict)
    except MalformedReply:
        pass
    # a log_event reply (2xx): JSON nested too deeply to read is not the API's answer
    assert isinstance(policy.reply_accepted(202, text, expects_json=True), bool)
    # a journal line: the good record after it is kept, the deep one counted as damage
    records, damage = read_records([text.encode("ascii"), GOOD_RECORD])
    assert records[-1][5] == {"event": "After"}
    # the storage folder's JSON files and the values cache
    for name in (USER, SETTINGS, APP, PRIVACY, cache_name("someone")):
        (tmp_path / name).write_text(text)
        value = read_json(str(tmp_path), name)
        assert value is None or isinstance(value, dict)
    assert ValuesCache(str(tmp_path)).read("someone") is None
    (tmp_path / cache_name("someone")).write_text('{"saved_at": 1, "values": ' + text + "}")
    assert ValuesCache(str(tmp_path)).read("someone") is None


@pytest.fixture
def thread_errors():
    """Exceptions that ended a thread (threading.excepthook), during the test."""
    seen = []
    before = threading.excepthook
    threading.excepthook = lambda args: seen.append((args.thread.name, args.exc_type.__name__))
    yield seen
    threading.excepthook = before


def _launch(store, cdn, fake_statsig, fake_segment_cdn):
    analytics = Analytics(WRITE_KEY, storage_dir=store, cdn_url=cdn.url, api_url=fake_segment_cdn.api_url,
                          flush_interval=0.05)
    dest = analytics.add(StatsigDestination(api_url=fake_statsig.url, retry_base=0.02, retry_max=0.2))
    return analytics, dest


def _keys_seen(fake_statsig):
    return [r.api_key for r in fake_statsig.event_requests]


def test_a_deep_cdn_reply_neither_kills_the_settings_thread_nor_the_cached_settings(
        tmp_path, cdn, fake_statsig, fake_segment_cdn, thread_errors, log_records):
    store = tmp_path / "store"
    other = "client-other-key-0123456789"
    cdn.text = json.dumps({"integrations": {"Statsig": {"apiKey": KEY}}})
    analytics, dest = _launch(store, cdn, fake_statsig, fake_segment_cdn)   # a launch that caches the settings
    analytics.track("first")
    assert analytics.flush(timeout=5) and fake_statsig.wait_for_events(1)
    analytics.shutdown(2)

    cdn.text = nested(100_000)
    analytics, dest = _launch(store, cdn, fake_statsig, fake_segment_cdn)   # the CDN now answers damage
    try:
        analytics.track("second")
        assert analytics.flush(timeout=5) and fake_statsig.wait_for_events(2)
        assert _keys_seen(fake_statsig) == [KEY, KEY]                        # the cached settings stand
        assert "CDN reply is not a settings object; using cached settings" in log_records.text
    finally:
        analytics.shutdown(2)

    cdn.text = json.dumps({"integrations": {"Statsig": {"apiKey": other}}})
    analytics, dest = _launch(store, cdn, fake_statsig, fake_segment_cdn)   # good settings again: applied
    try:
        deadline = time.monotonic() + 5
        while analytics.settings["integrations"]["Statsig"]["apiKey"] != other and time.monotonic() < deadline:
            time.sleep(0.02)
        analytics.track("third")
        assert analytics.flush(timeout=5) and fake_statsig.wait_for_events(3)
        assert _keys_seen(fake_statsig) == [KEY, KEY, other]
    finally:
        analytics.shutdown(2)
    assert thread_errors == []
    assert json.loads((store / SETTINGS).read_text())["integrations"]["Statsig"]["apiKey"] == other


def test_a_deep_journal_line_is_damage_and_the_calls_around_it_are_delivered(make_client, fake_statsig, log_records):
    analytics, dest = make_client()
    analytics.track("before")
    analytics.journal.append(nested(100_000).encode("ascii") + b"\n")   # as damage would leave it
    for i in range(20):
        analytics.track(f"after {i}")
    assert analytics.flush(timeout=10) and fake_statsig.wait_for_events(21, timeout=10)
    assert sorted(e["eventName"] for e in fake_statsig.events) == sorted(
        ["segment_track:before"] + [f"segment_track:after {i}" for i in range(20)])
    assert "journal: skipped 1 damaged line" in log_records.text
    assert "unexpected" not in log_records.text


def test_a_deep_queue_row_reaches_listeners_as_its_text(tmp_path, fake_statsig, httpserver, log_records):
    """A row of the durable queue is read back only for the delivery listeners: a damaged
    one reaches them as its text, and delivery goes on (no 'failed unexpectedly', no resend)."""
    store = tmp_path / "store"
    settings = {"integrations": {"Statsig": {"apiKey": KEY}}}
    fake_statsig.set_offline(True)                     # the first launch leaves its event queued
    analytics = Analytics(storage_dir=store, settings=settings, flush_interval=0.05)
    analytics.add(StatsigDestination(api_url=fake_statsig.url, retry_base=5, retry_max=5))
    analytics.track("queued")
    assert fake_statsig.wait_for_requests(1, timeout=5)   # refused (503): it stays in the queue
    analytics.shutdown(1)
    deep = nested(100_000)
    with sqlite3.connect(store / STATSIG_QUEUE) as db:   # damage: a row no parser can follow
        db.execute("INSERT INTO events (mid, body) VALUES (?, ?)", ("damaged", deep))
    db.close()

    httpserver.expect_request("/v1/log_event").respond_with_json({"success": True}, status=202)
    heard = []
    analytics = Analytics(storage_dir=store, settings=settings, flush_interval=0.05)
    dest = StatsigDestination(api_url=httpserver.url_for("/v1"), retry_base=0.02, retry_max=0.2)
    dest.add_listener(lambda state, events, status: heard.append((state, events)))
    analytics.add(dest)
    try:
        deadline = time.monotonic() + 10
        while not any(state == "sent" for state, _ in heard) and time.monotonic() < deadline:
            time.sleep(0.02)
        [(state, events)] = [(s, e) for s, e in heard if s == "sent"]
        assert events[0]["eventName"] == "segment_track:queued" and events[1] == deep
        assert len(httpserver.log) == 1 and dest.stats.snapshot()["sent"] == 2
        assert "failed unexpectedly" not in log_records.text
    finally:
        analytics.shutdown(2)


def test_the_quarantine_keeps_an_event_json_cannot_write_as_it_is(tmp_path, log_records):
    deep = 1
    for _ in range(100_000):
        deep = [deep]
    event = {"type": "track", "event": "deep", "properties": {"v": deep}}
    assert quarantine.set_aside(str(tmp_path), "Statsig", ValueError("a filter failed"), event)
    kept = json.loads((tmp_path / QUARANTINE).read_text())
    assert kept["error"] == "ValueError: a filter failed" and kept["record"]["event"] == "deep"
    assert "nested deeper than 64 levels" in log_records.text
