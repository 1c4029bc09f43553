"""StatsigDestination against the loopback fake Statsig (real HTTP, real requests)."""
import json
import os
import stat

import pytest

from segment_statsig import Analytics, StatsigDestination

from .conftest import KEY


def names(fake):
    return [e["eventName"] for e in fake.events]


def test_seed_examples_renamed_byte_for_byte(make_client, fake_statsig):
    analytics, _ = make_client()
    analytics.track("Login Button Clicked")
    analytics.screen("Home")
    analytics.page("Home")
    assert analytics.flush(timeout=5)
    assert names(fake_statsig) == [
        "segment_track:Login Button Clicked", "segment_screen:Home", "segment_page:Home"]


def test_page_and_screen_without_name_and_category(make_client, fake_statsig):
    analytics, _ = make_client()
    analytics.page()
    analytics.screen("Cart", category="Shop", properties={"items": 2})
    assert analytics.flush(timeout=5)
    page, screen = fake_statsig.events
    assert page["eventName"] == "segment_page"
    assert screen["eventName"] == "segment_screen:Cart"
    assert screen["metadata"] == {"items": "2", "category": "Shop"}


def test_wire_format_headers_and_gzip(make_client, fake_statsig):
    analytics, destination = make_client()
    analytics.track("Purchase", {"value": 9.5, "sku": "A-1", "gift": False, "tags": ["a", "b"], "none": None})
    assert analytics.flush(timeout=5)
    (request,) = fake_statsig.event_requests
    assert request.path == "/v1/log_event"
    assert request.headers["STATSIG-API-KEY"] == KEY
    assert request.headers["Content-Encoding"] == "gzip"
    assert request.headers["STATSIG-EVENT-COUNT"] == "1"
    assert request.headers["STATSIG-SDK-TYPE"] == "segment-statsig-python"
    assert int(request.headers["STATSIG-CLIENT-TIME"]) > 1_600_000_000_000
    assert request.compressed
    body = request.body
    assert body["statsigMetadata"]["stableID"] == analytics.anonymous_id
    assert body["statsigMetadata"]["sessionID"] == destination.session_id
    (event,) = body["events"]
    assert event["value"] == 9.5
    assert event["metadata"] == {"value": "9.5", "sku": "A-1", "gift": "false", "tags": '["a","b"]'}
    assert event["user"]["customIDs"] == {"stableID": analytics.anonymous_id,
                                          "segmentAnonymousId": analytics.anonymous_id}
    assert abs(event["time"] - int(request.headers["STATSIG-CLIENT-TIME"])) < 60_000


def test_identify_then_track_carries_the_user(make_client, fake_statsig):
    analytics, _ = make_client(context={"ip": "10.1.2.3", "userAgent": "Demo/1.0"}, app_info={"version": "2.1.0"})
    analytics.track("Before")
    analytics.identify("user-42", {"email": "ada@example.com", "plan": "pro", "address": {"country": "NZ"}})
    analytics.track("After")
    assert analytics.flush(timeout=5)
    before, after = fake_statsig.events
    assert "userID" not in before["user"]
    user = after["user"]
    assert user["userID"] == "user-42"
    assert user["email"] == "ada@example.com"
    assert user["country"] == "NZ"
    assert user["ip"] == "10.1.2.3" and user["userAgent"] == "Demo/1.0" and user["appVersion"] == "2.1.0"
    assert user["custom"] == {"plan": "pro", "address": '{"country":"NZ"}'}
    assert len(fake_statsig.events) == 2  # identify itself sends nothing


def test_personas_audience_true_then_false(make_client, fake_statsig):
    analytics, _ = make_client()
    analytics.identify("u1", {"order_completed_last_30days": True})
    analytics.track("Viewed")
    analytics.identify(traits={"order_completed_last_30days": False})
    analytics.track("Viewed")
    assert analytics.flush(timeout=5)
    first, second = fake_statsig.events
    assert first["user"]["custom"] == {"order_completed_last_30days": True}
    assert second["user"]["custom"] == {"order_completed_last_30days": False}
    assert second["user"]["userID"] == "u1"


def test_reset_forgets_the_user_in_call_order(make_client, fake_statsig):
    analytics, _ = make_client()
    analytics.identify("u1", {"email": "a@b.co", "vip": True})
    first_anonymous = analytics.anonymous_id
    analytics.track("Old")
    analytics.reset()
    analytics.track("New")
    assert analytics.flush(timeout=5)
    old, new = fake_statsig.events
    assert old["user"]["userID"] == "u1" and old["user"]["custom"] == {"vip": True}
    assert "userID" not in new["user"] and "custom" not in new["user"] and "email" not in new["user"]
    assert new["user"]["customIDs"]["stableID"] == analytics.anonymous_id != first_anonymous


def test_statsig_reserved_properties(make_client, fake_statsig, log_records):
    analytics, _ = make_client()
    analytics.track("Team", {"statsigCustomIDs": ["companyID", "c-7", "teamID", "t-1"],
                             "statsigCustom": ["plan", "pro"], "statsigEnvironment": {"tier": "staging"}, "x": 1})
    analytics.track("Odd", {"statsigCustomIDs": ["companyID"], "x": 2})
    assert analytics.flush(timeout=5)
    team, odd = fake_statsig.events
    assert team["user"]["customIDs"]["companyID"] == "c-7" and team["user"]["customIDs"]["teamID"] == "t-1"
    assert team["user"]["custom"] == {"plan": "pro"}
    assert team["user"]["statsigEnvironment"] == {"tier": "staging"}
    assert team["metadata"] == {"x": "1"}
    assert odd["metadata"] == {"x": "2"} and "companyID" not in odd["user"]["customIDs"]
    assert "statsigCustomIDs of event 'segment_track:Odd'" in log_records.text


def test_name_and_metadata_limits_warn_and_keep_the_event(make_client, fake_statsig, log_records):
    analytics, _ = make_client()
    analytics.track("a=b;c|d")
    analytics.track("L" * 100)
    analytics.track("Big", {"blob": "x" * 10_000, "small": "keep"})
    assert analytics.flush(timeout=5)
    forbidden, long, big = fake_statsig.events
    assert forbidden["eventName"] == "segment_track:a_b_c_d"
    assert forbidden["metadata"]["segment_event_name"] == "segment_track:a=b;c|d"
    assert long["eventName"] == ("segment_track:" + "L" * 100)[:64]
    assert len(json.dumps(big["metadata"], separators=(",", ":"), ensure_ascii=False)) <= 4096
    assert big["metadata"]["small"] == "keep" and big["metadata"]["statsig_metadata_truncated"] == "true"
    assert fake_statsig.dropped_events == []
    for text in ("'a=b;c|d'", "over 64 characters", "metadata of event 'segment_track:Big'"):
        assert text in log_records.text


def test_503_503_200_retries_then_delivers_once(make_client, fake_statsig):
    fake_statsig.respond_with_statuses([503, 503])
    analytics, destination = make_client()
    analytics.track("Retry Me")
    assert analytics.flush(timeout=10)
    assert [r.status for r in fake_statsig.event_requests] == [503, 503, 202]
    assert names(fake_statsig) == ["segment_track:Retry Me"]
    stats = destination.stats.snapshot()
    assert stats["sent"] == 1 and stats["retried"] == 2 and stats["dropped"] == 0


def test_429_honours_retry_after(make_client, fake_statsig):
    fake_statsig.respond_with_statuses([429], retry_after=1)
    analytics, _ = make_client()
    analytics.track("Slow Down")
    analytics.flush()
    assert fake_statsig.wait_for_requests(1, timeout=5)
    assert not fake_statsig.wait_for_events(1, timeout=0.6)  # backoff alone would retry within 0.2 s
    assert fake_statsig.wait_for_events(1, timeout=5)
    first, second = fake_statsig.event_requests
    assert second.received_at - first.received_at >= 0.95


def test_400_drops_the_batch_with_a_log_line(make_client, fake_statsig, log_records):
    fake_statsig.respond_with_statuses([400])
    analytics, destination = make_client()
    analytics.track("Rejected")
    assert analytics.flush(timeout=5)
    analytics.track("Accepted")
    assert analytics.flush(timeout=5)
    assert names(fake_statsig) == ["segment_track:Accepted"]
    assert destination.stats.snapshot()["dropped"] == 1
    assert "HTTP 400 is final; dropped 1 events" in log_records.text


def test_statsig_down_then_up_delivers_all_in_order(make_client, fake_statsig):
    fake_statsig.set_offline(True)
    analytics, destination = make_client(flush_at=5)
    for i in range(40):
        analytics.track("Offline", {"i": i})
    assert not analytics.flush(timeout=0.5)
    assert destination.queue_depth == 40
    fake_statsig.set_offline(False)
    assert analytics.flush(timeout=10)
    assert [int(e["metadata"]["i"]) for e in fake_statsig.events] == list(range(40))


def test_key_from_settings_and_events_wait_for_it(tmp_path, fake_statsig):
    analytics = Analytics(storage_dir=tmp_path, settings={"integrations": {}}, flush_interval=0.05)
    destination = analytics.add(StatsigDestination(api_url=fake_statsig.url, retry_base=0.02))
    try:
        analytics.track("Early")
        assert not analytics.flush(timeout=0.3)
        assert destination.queue_depth == 1 and fake_statsig.events == []
        analytics._apply_settings({"integrations": {"Statsig": {"apiKey": KEY}}})
        assert analytics.flush(timeout=5)
        assert names(fake_statsig) == ["segment_track:Early"]
    finally:
        analytics.shutdown(2)


def test_key_from_the_segment_cdn(tmp_path, fake_statsig, fake_segment_cdn):
    fake_segment_cdn.set_settings("wk-1", {"integrations": {"Statsig": {"apiKey": KEY}, "Segment.io": {}}})
    analytics = Analytics("wk-1", storage_dir=tmp_path, cdn_url=fake_segment_cdn.url,
                          api_url=fake_segment_cdn.api_url, flush_interval=0.05)
    analytics.add(StatsigDestination(api_url=fake_statsig.url))
    try:
        analytics.track("From CDN")
        assert analytics.flush(timeout=5)
        assert names(fake_statsig) == ["segment_track:From CDN"]
        assert json.loads((tmp_path / "settings.json").read_text())["integrations"]["Statsig"]["apiKey"] == KEY
    finally:
        analytics.shutdown(2)


def test_integrations_statsig_false_skips_statsig(make_client, fake_statsig):
    analytics, _ = make_client()
    analytics.track("Hidden", integrations={"Statsig": False})
    analytics.track("Hidden Too", integrations={"All": False})
    analytics.track("Shown", integrations={"All": False, "Statsig": True})
    assert analytics.flush(timeout=5)
    assert names(fake_statsig) == ["segment_track:Shown"]


def test_secret_key_refused_unless_allowed(tmp_path):
    with pytest.raises(ValueError) as error:
        StatsigDestination("secret-abcdef0123456789")
    assert "secret-abcdef0123456789" not in str(error.value)
    assert "allow_server_secret=True" in str(error.value)
    assert StatsigDestination("secret-abc", allow_server_secret=True).ready()


def test_secret_key_from_settings_refused_and_events_stay(tmp_path, fake_statsig, log_records):
    analytics = Analytics(storage_dir=tmp_path, settings={"integrations": {"Statsig": {"apiKey": "secret-zzz999"}}})
    destination = analytics.add(StatsigDestination(api_url=fake_statsig.url))
    try:
        analytics.track("Kept")
        assert not analytics.flush(timeout=0.3)
        assert destination.queue_depth == 1 and not destination.ready()
        assert "secret-zzz999" not in log_records.text and "server secret key" in log_records.text
    finally:
        analytics.shutdown(1)


@pytest.mark.parametrize("url", ["http://example.com/v1", "ftp://127.0.0.1/v1", "not a url"])
def test_plain_http_to_non_loopback_refused(url):
    with pytest.raises(ValueError):
        StatsigDestination(KEY, api_url=url)


def test_key_never_in_repr_or_logs(make_client, fake_statsig, log_records):
    fake_statsig.respond_with_statuses([500, 401])
    analytics, destination = make_client()
    analytics.track("Secretive")
    analytics.flush(timeout=5)
    for text in (repr(destination), repr(analytics), repr(destination.stats), log_records.text):
        assert KEY not in text


def test_queue_file_is_private(make_client, fake_statsig, tmp_path):
    analytics, _ = make_client()
    analytics.track("Private")
    assert analytics.flush(timeout=5)
    for name in ("statsig-queue.sqlite3", "journal", "journal.pos", "user.json"):
        mode = stat.S_IMODE(os.stat(tmp_path / "store" / name).st_mode)
        assert mode == 0o600, (name, oct(mode))


def test_queue_bounded_oldest_dropped_with_count(tmp_path, fake_statsig, log_records):
    analytics = Analytics(storage_dir=tmp_path, settings={"integrations": {}}, flush_interval=0.05)
    destination = analytics.add(StatsigDestination(api_url=fake_statsig.url, max_queue_events=10))
    try:
        for i in range(25):
            analytics.track("Overflow", {"i": i})
        analytics.flush(timeout=0.5)
        assert destination.queue_depth == 10
        assert destination.stats.snapshot()["dropped"] == 15
        assert "dropped the" in log_records.text
        destination._api_key = KEY
        assert analytics.flush(timeout=5)
        assert [int(e["metadata"]["i"]) for e in fake_statsig.events] == list(range(15, 25))
    finally:
        analytics.shutdown(1)


def test_listener_sees_queued_and_sent(make_client, fake_statsig):
    analytics, destination = make_client()
    seen = []
    destination.add_listener(lambda state, events, status: seen.append((state, [e["eventName"] for e in events], status)))
    analytics.track("Watched")
    assert analytics.flush(timeout=5)
    assert seen == [("queued", ["segment_track:Watched"], None), ("sent", ["segment_track:Watched"], 202)]


def test_restart_delivers_what_the_last_run_queued(tmp_path, fake_statsig):
    store = tmp_path / "store"
    first = Analytics(storage_dir=store, settings={"integrations": {"Statsig": {"apiKey": KEY}}})
    first.add(StatsigDestination(api_url="http://127.0.0.1:9/v1", retry_base=5))  # nothing listens on port 9
    for i in range(5):
        first.track("Carried", {"i": i})
    first.shutdown(timeout=0.5)
    second = Analytics(storage_dir=store, settings={"integrations": {"Statsig": {"apiKey": KEY}}}, flush_interval=0.05)
    second.add(StatsigDestination(api_url=fake_statsig.url))
    try:
        assert second.flush(timeout=5)
        assert [int(e["metadata"]["i"]) for e in fake_statsig.events] == list(range(5))
    finally:
        second.shutdown(2)


CHILD = r"""
import sys
from segment_statsig import Analytics, StatsigDestination
analytics = Analytics(storage_dir=sys.argv[1], settings={"integrations": {"Statsig": {"apiKey": "client-k"}}},
                      flush_at=50, flush_interval=0.05)
analytics.add(StatsigDestination(api_url=sys.argv[2], retry_base=0.05))
i = 0
while True:
    analytics.track("Killed", {"i": i})
    sys.stdout.write(f"{i}\n")
    sys.stdout.flush()
    i += 1
"""


def test_sigkill_after_track_returned_then_restart_delivers(tmp_path, fake_statsig):
    import signal
    import subprocess
    import sys

    store = tmp_path / "store"
    fake_statsig.delay_next(0.3)  # a send is in flight at some kills
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(store), fake_statsig.url],
                             stdout=subprocess.PIPE, text=True)
    returned = []
    try:
        for line in child.stdout:
            returned.append(int(line))
            if len(returned) >= 3000:
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    returned.extend(int(line) for line in child.stdout.read().split())
    assert len(returned) >= 3000
    restarted = Analytics(storage_dir=store, settings={"integrations": {"Statsig": {"apiKey": KEY}}}, flush_interval=0.05)
    restarted.add(StatsigDestination(api_url=fake_statsig.url))
    try:
        assert restarted.flush(timeout=20)
    finally:
        restarted.shutdown(2)
    delivered = [int(e["metadata"]["i"]) for e in fake_statsig.events]
    assert set(returned) <= set(delivered), sorted(set(returned) - set(delivered))[:10]
    duplicates = len(delivered) - len(set(delivered))
    dup = sorted(i for i in set(delivered) if delivered.count(i) > 1)
    assert duplicates <= 100, (duplicates, dup[:3], dup[-3:])  # at most the one batch in flight at the kill


def test_a_full_batch_with_nothing_older_queued_goes_out_without_the_queue(make_client, fake_statsig):
    """At an app's pace a batch of flush_at events is sent as the timeline made it (it is
    durable in the journal until then): the queue's insert, read and delete are spared."""
    import time

    analytics, destination = make_client(flush_at=20, flush_interval=0.3)
    analytics.track("Warm Up")
    assert analytics.flush(timeout=10)  # the sender has shown the server answers quickly
    time.sleep(0.35)  # past the pace between requests (min(1 s, flush_interval))
    queue = destination._get_queue()
    stored = []
    real_put = queue.put_many
    queue.put_many = lambda items: stored.append(len(items)) or real_put(items)
    for i in range(20):
        analytics.track("Paced", {"i": i})
    assert fake_statsig.wait_for_events(21, timeout=10)
    assert analytics.flush(timeout=10)
    assert stored == [] and queue.count == 0
    assert destination.stats.snapshot()["sent"] == 21


def test_a_direct_send_that_fails_is_stored_and_retried(make_client, fake_statsig):
    import time

    analytics, destination = make_client(flush_at=20, flush_interval=0.3)
    analytics.track("Warm Up")
    assert analytics.flush(timeout=10)
    time.sleep(0.35)
    fake_statsig.respond_with_statuses([503])
    for i in range(20):
        analytics.track("Paced", {"i": i})
    assert fake_statsig.wait_for_events(21, timeout=10)  # the retry, from the queue
    assert analytics.flush(timeout=10)
    assert [r.status for r in fake_statsig.event_requests] == [202, 503, 202]
    assert [int(e["metadata"]["i"]) for e in fake_statsig.events[1:]] == list(range(20))
    assert destination.stats.snapshot()["retried"] == 1 and destination.queue_depth == 0
