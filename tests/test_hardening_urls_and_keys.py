"""Hardening: hostile URLs and keys let nothing out (a URL two parsers could read differently
is refused, a server secret or a key with control characters is never sent or logged), and
the storage folder does not name the write key."""
import hashlib
import json
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segment_statsig import Analytics, StatsigDestination
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
    caplog.set_level(logging.DEBUG, logger="urllib3")  # segment_statsig.kivy quiets it when imported
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
