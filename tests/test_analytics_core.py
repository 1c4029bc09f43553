"""The Segment-style core: events, timeline, plugins, identity, settings, lifecycle."""
import datetime
import decimal
import json
import re
import threading
import time
import uuid

import pytest

from segment_statsig import Analytics, DestinationPlugin, Plugin, PluginType, UpdateType


class Capture(DestinationPlugin):
    """A destination that keeps what it was given."""

    def __init__(self, key="Capture"):
        super().__init__()
        self.key = key
        self.events = []
        self.updates = []
        self.resets = 0
        self.got = threading.Event()

    def update(self, settings, update_type):
        self.updates.append((settings, update_type))

    def keep(self, event):
        self.events.append(event)
        self.got.set()
        return event

    track = identify = screen = page = group = alias = keep

    def reset(self):
        self.resets += 1


def run(analytics):
    assert analytics.flush(timeout=5)


@pytest.fixture
def client(tmp_path):
    made = []

    def make(**options):
        options.setdefault("storage_dir", tmp_path / "store")
        analytics = Analytics(**options)
        made.append(analytics)
        return analytics

    yield make
    for analytics in made:
        analytics.shutdown(2)


ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_track_event_follows_the_segment_spec(client):
    analytics = client(app_info={"name": "Demo", "version": "1.2.0", "build": "12"})
    capture = analytics.add(Capture())
    analytics.track("Order Completed", {"total": 10})
    run(analytics)
    (event,) = capture.events
    assert event["type"] == "track" and event["event"] == "Order Completed"
    assert event["properties"] == {"total": 10}
    assert uuid.UUID(event["messageId"]).version == 4
    assert ISO_MS.match(event["timestamp"])
    stamped = datetime.datetime.fromisoformat(event["timestamp"][:-1] + "+00:00").timestamp()
    assert abs(stamped - time.time()) < 60
    assert event["anonymousId"] == analytics.anonymous_id and "userId" not in event
    context = event["context"]
    assert context["library"]["name"] == "segment-statsig"
    assert context["app"] == {"name": "Demo", "version": "1.2.0", "build": "12"}
    assert context["os"]["name"] and context["locale"] and context["timezone"]
    assert event["integrations"] == {}


def test_screen_page_group_alias_shapes(client):
    analytics = client()
    capture = analytics.add(Capture())
    analytics.screen("Home", category="Main", properties={"a": 1})
    analytics.page("Docs", properties={"path": "/docs"})
    analytics.identify("u1", {"plan": "pro"})
    analytics.group("g1", {"size": 5})
    analytics.alias("u2")
    run(analytics)
    screen, page, identify, group, alias = capture.events
    assert (screen["type"], screen["name"], screen["category"], screen["properties"]) == ("screen", "Home", "Main", {"a": 1})
    assert (page["type"], page["name"], page["properties"]) == ("page", "Docs", {"path": "/docs"})
    assert (identify["type"], identify["userId"], identify["traits"]) == ("identify", "u1", {"plan": "pro"})
    assert (group["groupId"], group["traits"]) == ("g1", {"size": 5})
    assert (alias["previousId"], alias["userId"]) == ("u1", "u2")
    assert analytics.user_id == "u2"


def test_caller_context_integrations_and_timestamp(client):
    analytics = client()
    analytics.set_context(screen={"width": 360, "height": 640})
    capture = analytics.add(Capture())
    when = datetime.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=datetime.timezone.utc)
    analytics.track("Old", context={"ip": "1.2.3.4", "screen": {"density": 2}},
                    integrations={"Other": False}, timestamp=when)
    analytics.track("Iso", timestamp="2024-05-06T07:08:09.5Z")
    run(analytics)
    old, iso = capture.events
    assert old["timestamp"] == "2024-05-06T07:08:09.123Z"
    assert iso["timestamp"] == "2024-05-06T07:08:09.500Z"
    assert old["context"]["ip"] == "1.2.3.4"
    assert old["context"]["screen"] == {"width": 360, "height": 640, "density": 2}
    assert old["integrations"] == {"Other": False}


def test_identity_persists_and_reset_clears_it(tmp_path):
    store = tmp_path / "store"
    first = Analytics(storage_dir=store)
    anonymous_id = first.anonymous_id
    first.identify("u1", {"email": "a@b.co"})
    first.identify(traits={"plan": "pro"})
    first.shutdown(1)
    second = Analytics(storage_dir=store)
    assert (second.anonymous_id, second.user_id, second.traits) == (anonymous_id, "u1", {"email": "a@b.co", "plan": "pro"})
    second.reset()
    assert second.user_id is None and second.traits == {} and second.anonymous_id != anonymous_id
    assert second.flush(timeout=5)  # user.json is the worker's to rewrite, once it has processed the reset
    saved = (store / "user.json").read_text()
    assert "a@b.co" not in saved and "u1" not in saved
    second.shutdown(1)
    third = Analytics(storage_dir=store)
    assert third.anonymous_id == second.anonymous_id and third.user_id is None
    third.shutdown(1)


class Tag(Plugin):
    def __init__(self, plugin_type, name, log, drop=None):
        self.type, self.name, self.log, self.drop = plugin_type, name, log, drop

    def execute(self, event):
        self.log.append((self.name, event.get("event")))
        event.setdefault("properties", {})[self.name] = True
        return None if event.get("event") == self.drop else event


def test_timeline_order_drop_and_own_copies(client):
    analytics = client()
    seen = []
    analytics.add(Tag(PluginType.AFTER, "after", seen))
    analytics.add(Tag(PluginType.ENRICHMENT, "enrich", seen))
    analytics.add(Tag(PluginType.BEFORE, "before", seen, drop="Dropped"))
    one, two = analytics.add(Capture("One")), analytics.add(Capture("Two"))
    one.add(Tag(PluginType.ENRICHMENT, "one-only", seen))
    analytics.track("Kept")
    analytics.track("Dropped")
    run(analytics)
    assert seen == [("before", "Kept"), ("enrich", "Kept"), ("one-only", "Kept"), ("after", "Kept"), ("before", "Dropped")]
    assert one.events[0]["properties"] == {"before": True, "enrich": True, "one-only": True}
    assert two.events[0]["properties"] == {"before": True, "enrich": True}
    assert one.events[0] is not two.events[0]


def test_a_failing_plugin_is_skipped_not_fatal(client, log_records):
    class Broken(Plugin):
        type = PluginType.ENRICHMENT

        def execute(self, event):
            raise RuntimeError("boom")

    analytics = client()
    analytics.add(Broken())
    capture = analytics.add(Capture())
    analytics.track("Survives")
    run(analytics)
    assert [e["event"] for e in capture.events] == ["Survives"]
    assert "plugin Broken failed" in log_records.text


def test_update_initial_then_refresh(client):
    analytics = client(settings={"integrations": {"Capture": {"x": 1}}})
    capture = analytics.add(Capture())
    analytics._apply_settings({"integrations": {"Capture": {"x": 2}}})
    assert [(s["integrations"]["Capture"]["x"], t) for s, t in capture.updates] == [(1, UpdateType.INITIAL), (2, UpdateType.REFRESH)]
    assert analytics.find(Capture) is capture
    analytics.remove(capture)
    assert analytics.find(Capture) is None


def test_settings_from_cdn_then_cached_when_offline(tmp_path, fake_segment_cdn):
    settings = {"integrations": {"Capture": {"k": "v"}, "Segment.io": {}}}
    fake_segment_cdn.set_settings("wk", settings)
    first = Analytics("wk", storage_dir=tmp_path, cdn_url=fake_segment_cdn.url, api_url=fake_segment_cdn.api_url)
    capture = first.add(Capture())
    first.track("Go")
    assert capture.got.wait(5)
    assert capture.updates[-1][0] == settings
    first.shutdown(1)
    fake_segment_cdn.set_error("wk", 500)
    second = Analytics("wk", storage_dir=tmp_path, cdn_url=fake_segment_cdn.url, api_url=fake_segment_cdn.api_url)
    again = second.add(Capture())
    assert again.updates == [(settings, UpdateType.INITIAL)]  # the cache, at once, before the CDN answers
    second.shutdown(1)


def test_track_does_no_network_and_no_blocking_while_servers_hang(tmp_path, fake_statsig, fake_segment_cdn):
    from segment_statsig import StatsigDestination

    fake_segment_cdn.set_settings("wk", {"integrations": {"Statsig": {"apiKey": "client-k"}}})
    for _ in range(3):
        fake_statsig.delay_next(3)
        fake_segment_cdn.delay_next(3)
    analytics = Analytics("wk", storage_dir=tmp_path, cdn_url=fake_segment_cdn.url, api_url=fake_segment_cdn.api_url,
                          settings={"integrations": {"Statsig": {"apiKey": "client-k"}}}, flush_at=1, flush_interval=0.01)
    analytics.add(StatsigDestination(api_url=fake_statsig.url, timeout=5))
    analytics.track("Warm")
    assert fake_statsig.wait_for_requests(1, timeout=5)  # a send is now hanging on the server
    started = time.perf_counter()
    for i in range(500):
        analytics.track("While Hanging", {"i": i})
    elapsed = time.perf_counter() - started
    # A single blocked call would take 3 s; 500 calls in well under that prove none waited
    # (~0.05 s here; the margin is for a loaded CI machine).
    assert elapsed < 2.0, elapsed
    analytics.shutdown(0.1)


@pytest.mark.parametrize("bad, error", [("", ValueError), ("   ", ValueError), (None, TypeError), (42, TypeError)])
def test_bad_names_are_programmer_errors(client, bad, error):
    analytics = client()
    with pytest.raises(error):
        analytics.track(bad)
    with pytest.raises(error):
        analytics.screen(bad)


def test_bad_argument_types(client):
    analytics = client()
    with pytest.raises(TypeError):
        analytics.track("x", ["not", "a", "dict"])
    with pytest.raises(TypeError):
        analytics.identify(user_id=3.5)
    with pytest.raises(TypeError):
        analytics.track("x", timestamp=object())


class Weird:
    def __str__(self):
        raise RuntimeError("no str")

    def __repr__(self):
        raise RuntimeError("no repr")


def test_non_json_properties_follow_the_documented_rules(client, log_records):
    analytics = client()
    capture = analytics.add(Capture())
    cyclic = {"name": "loop"}
    cyclic["self"] = cyclic
    analytics.track("Odd", {
        "when": datetime.datetime(2024, 1, 2, 3, 4, 5), "day": datetime.date(2024, 1, 2),
        "price": decimal.Decimal("9.99"), "tags": {"b", "a"}, "pair": (1, 2), "raw": b"hi\xff",
        "nan": float("nan"), "inf": float("-inf"), "big": 10 ** 30, "cyclic": cyclic, "weird": Weird(),
        "id": uuid.UUID(int=1), 7: "int key",
    })
    run(analytics)
    props = capture.events[0]["properties"]
    assert props["when"] == "2024-01-02T03:04:05" and props["day"] == "2024-01-02"
    assert props["price"] == 9.99 and props["tags"] == ["a", "b"] and props["pair"] == [1, 2]
    assert props["raw"] == "hi\ufffd" and props["nan"] is None and props["inf"] is None
    assert props["big"] == 10 ** 30 and props["cyclic"] == {"name": "loop", "self": None}
    assert "weird" not in props and props["7"] == "int key"
    assert props["id"] == "00000000-0000-0000-0000-000000000001"
    assert "is not JSON" in log_records.text and "contains itself" in log_records.text


def test_caller_mutating_properties_after_return_changes_nothing(client):
    analytics = client()
    capture = analytics.add(Capture())
    properties = {"step": 1}
    analytics.track("Snapshot", properties)
    properties["step"] = 2
    run(analytics)
    assert capture.events[0]["properties"] == {"step": 1}


def test_lifecycle_installed_updated_opened_background_foreground(tmp_path):
    store = tmp_path / "store"
    first = Analytics(storage_dir=store, track_lifecycle_events=True, app_info={"version": "1.0", "build": "1"})
    capture = first.add(Capture())
    first.on_start()  # idempotent: the constructor already recorded these
    first.on_background()
    first.on_foreground()
    run(first)
    assert [e["event"] for e in capture.events] == [
        "Application Installed", "Application Opened", "Application Backgrounded", "Application Opened"]
    assert capture.events[1]["properties"]["from_background"] is False
    assert capture.events[3]["properties"] == {"from_background": True, "version": "1.0", "build": "1"}
    first.shutdown(1)
    second = Analytics(storage_dir=store, track_lifecycle_events=True, app_info={"version": "1.1", "build": "2"})
    capture = second.add(Capture())
    run(second)
    assert [e["event"] for e in capture.events] == ["Application Updated", "Application Opened"]
    assert capture.events[0]["properties"]["previous_version"] == "1.0"
    second.shutdown(1)


def test_background_flushes_every_destination(tmp_path, fake_statsig):
    from segment_statsig import StatsigDestination

    analytics = Analytics(storage_dir=tmp_path, settings={"integrations": {"Statsig": {"apiKey": "client-k"}}},
                          flush_at=1000, flush_interval=3600)
    analytics.add(StatsigDestination(api_url=fake_statsig.url))
    analytics.track("Before Background")
    analytics.on_background()
    assert fake_statsig.wait_for_events(1, timeout=5)
    analytics.shutdown(1)


def test_shutdown_is_idempotent_and_later_calls_wait_for_next_start(tmp_path):
    analytics = Analytics(storage_dir=tmp_path)
    capture = analytics.add(Capture())
    analytics.track("One")
    assert analytics.shutdown(2) is True
    assert analytics.shutdown(2) is True
    analytics.track("After Shutdown")
    assert [e["event"] for e in capture.events] == ["One"]
    again = Analytics(storage_dir=tmp_path)
    capture = again.add(Capture())
    again.flush(timeout=5)
    assert [e["event"] for e in capture.events] == ["After Shutdown"]
    again.shutdown(1)


def test_import_is_cheap_and_loads_no_network_stack():
    import subprocess
    import sys

    code = "import sys, segment_statsig; print(sorted(m for m in ('requests', 'sqlite3', 'kivy', 'urllib3') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.replace("'", '"')) == []


def test_on_start_from_the_app_starts_processing(tmp_path):
    analytics = Analytics(storage_dir=tmp_path, track_lifecycle_events=True, flush_interval=0.05)
    capture = analytics.add(Capture())
    assert not capture.got.wait(0.3)  # held until the app starts: destinations may still be coming
    analytics.on_start()
    assert capture.got.wait(5)
    analytics.shutdown(1)
    assert [e["event"] for e in capture.events] == ["Application Installed", "Application Opened"]


def test_unreadable_journal_records_are_skipped_not_fatal(tmp_path, log_records):
    from segment_statsig.storage.journal import Journal

    journal = Journal(tmp_path)
    for junk in (b'{"not": "a record"}\n', b"[1, 2]\n", b"garbage\n"):
        journal.append(junk)
    analytics = Analytics(storage_dir=tmp_path)
    capture = analytics.add(Capture())
    analytics.track("After Junk")
    run(analytics)
    analytics.shutdown(1)
    assert [e["event"] for e in capture.events] == ["After Junk"]
    assert "journal: skipped 3 damaged lines" in log_records.text
