"""What analytics-kotlin and analytics-swift give an app: lifecycle events by Segment's
Spec, deep links, plugin look-ups and enrichment functions, user info, the app's own
anonymous IDs, an error handler, settings refreshed on return. Over loopback HTTP."""
import sys
import threading
import types

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segment_statsig import Analytics, AnalyticsError, DestinationPlugin, Plugin, PluginType, StatsigDestination
from segment_statsig.analytics.deep_links import deep_link_properties
from segment_statsig.analytics.enrichment import ClosurePlugin

from .conftest import KEY
from .test_analytics_core import Capture


def tracked(fake):
    return [(e["eventName"].split(":", 1)[1], e["metadata"]) for e in fake.events]


# --- lifecycle ----------------------------------------------------------------------------

def test_return_from_background_is_opened_from_background_with_version_and_build(make_client, fake_statsig):
    analytics, _ = make_client(track_lifecycle_events=True, app_info={"version": "3.1", "build": "42"})
    analytics.on_start()
    analytics.on_foreground()  # a launch that also reports the foreground: no second Opened
    analytics.on_background()
    analytics.on_background()  # reported twice: one Backgrounded
    analytics.on_foreground()
    analytics.on_foreground()
    assert analytics.flush(timeout=5)
    assert tracked(fake_statsig) == [
        ("Application Installed", {"version": "3.1", "build": "42"}),
        ("Application Opened", {"from_background": "false", "version": "3.1", "build": "42"}),
        ("Application Backgrounded", {}),
        ("Application Opened", {"from_background": "true", "version": "3.1", "build": "42"}),
    ]


def test_foregrounded_only_when_asked_for_and_the_choice_of_events(make_client, fake_statsig, tmp_path):
    analytics, _ = make_client(track_lifecycle_events={"Application Opened", "Application Foregrounded"},
                               app_info={"version": "1"})
    analytics.on_background()
    analytics.on_foreground()
    assert analytics.flush(timeout=5)
    assert [name for name, _ in tracked(fake_statsig)] == [
        "Application Opened", "Application Opened", "Application Foregrounded"]
    with pytest.raises(ValueError, match="not lifecycle events"):
        Analytics(storage_dir=tmp_path / "x", track_lifecycle_events={"Application Opened", "Application Crashed"})
    with pytest.raises(TypeError):
        Analytics(storage_dir=tmp_path / "y", track_lifecycle_events="Application Opened")


# --- deep links ---------------------------------------------------------------------------

def test_open_url_tracks_deep_link_opened_with_every_query_parameter(make_client, fake_statsig):
    analytics, _ = make_client()
    analytics.open_url("myshop://product?id=p-7&utm_source=mail&utm_source=other&empty=",
                       referrer="com.google.android.gm", properties={"campaign": "spring"})
    assert analytics.flush(timeout=5)
    assert tracked(fake_statsig) == [("Deep Link Opened", {
        "id": "p-7", "utm_source": "mail", "empty": "", "campaign": "spring",
        "url": "myshop://product?id=p-7&utm_source=mail&utm_source=other&empty=",
        "referrer": "com.google.android.gm"})]
    for bad in ("", "   "):
        with pytest.raises(ValueError):
            analytics.open_url(bad)
    with pytest.raises(TypeError):
        analytics.open_url("myshop://x", referrer=7)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8),
                       st.text(st.characters(blacklist_categories=("Cs",)), max_size=8), max_size=5))
def test_every_query_parameter_comes_back_as_a_property(params):
    from urllib.parse import urlencode

    url = "myshop://deep/link?" + urlencode(params)
    properties = deep_link_properties(url)
    assert properties["url"] == url
    for name, value in params.items():
        if name not in ("url", "referrer"):
            assert properties[name] == value


class StandInIntent:
    def __init__(self, data, referrer=None):
        self.data, self.referrer = data, referrer

    def getDataString(self):
        return self.data

    def getParcelableExtra(self, name):
        assert name == "android.intent.extra.REFERRER"
        return None if self.referrer is None else types.SimpleNamespace(toString=lambda: self.referrer)

    def getStringExtra(self, name):
        return None


def test_kivy_glue_tracks_the_launch_intent_and_new_intents(monkeypatch, make_client, fake_statsig):
    from segment_statsig.kivy import track_deep_links

    bound = {}
    activity = types.SimpleNamespace(bind=lambda **kw: bound.update(kw),
                                     unbind=lambda **kw: [bound.pop(k) for k in kw])
    monkeypatch.setitem(sys.modules, "android", types.SimpleNamespace(activity=activity))
    launch = StandInIntent("myshop://home?from=launch", "android-app://com.android.chrome")
    python_activity = types.SimpleNamespace(mActivity=types.SimpleNamespace(getIntent=lambda: launch))
    monkeypatch.setitem(sys.modules, "jnius", types.SimpleNamespace(
        autoclass={"org.kivy.android.PythonActivity": python_activity}.__getitem__))
    analytics, _ = make_client()
    binding = track_deep_links(analytics, "android")
    bound["on_new_intent"](StandInIntent(None))  # a launcher tap carries no URL: nothing tracked
    bound["on_new_intent"](StandInIntent("myshop://cart?item=9"))
    binding.unbind()
    assert bound == {}
    assert analytics.flush(timeout=5)
    assert tracked(fake_statsig) == [
        ("Deep Link Opened", {"from": "launch", "url": "myshop://home?from=launch",
                              "referrer": "android-app://com.android.chrome"}),
        ("Deep Link Opened", {"item": "9", "url": "myshop://cart?item=9"})]
    assert track_deep_links(analytics, "linux").activity is None  # elsewhere: nothing bound


# --- plugins: find_all, enrichment functions -----------------------------------------------

def test_find_all_and_add_enrichment(make_client, fake_statsig):
    analytics, statsig = make_client()
    first, second = analytics.add(Capture("One")), analytics.add(Capture("Two"))
    assert analytics.find_all(Capture) == [first, second]
    assert analytics.find_all(StatsigDestination) == [statsig]

    def stamp(event):
        event["properties"]["enriched"] = True
        return event

    plugin = analytics.add_enrichment(stamp)
    assert isinstance(plugin, ClosurePlugin) and plugin.type is PluginType.ENRICHMENT
    assert analytics.find_all(ClosurePlugin) == [plugin]
    analytics.track("With")
    assert analytics.flush(timeout=5)
    analytics.remove(plugin)
    analytics.track("Without")
    assert analytics.flush(timeout=5)
    assert tracked(fake_statsig) == [("With", {"enriched": "true"}), ("Without", {})]
    analytics.add_enrichment(lambda event: None if event.get("event") == "Dropped" else event)
    analytics.track("Dropped")
    analytics.track("Kept")
    assert analytics.flush(timeout=5)
    assert [name for name, _ in tracked(fake_statsig)][-1] == "Kept" and len(fake_statsig.events) == 3
    with pytest.raises(TypeError):
        analytics.add_enrichment("not callable")


def test_per_call_enrichment_applies_to_that_call_only(make_client, fake_statsig):
    analytics, _ = make_client()
    capture = analytics.add(Capture())
    seen = []

    def mark(event):
        seen.append(threading.current_thread().name)
        event.setdefault("properties", {})["closure"] = event["type"]
        event.setdefault("traits", {})["closure"] = event["type"]
        return event

    analytics.track("Plain")
    analytics.track("Marked", enrichment=mark)
    analytics.screen("Home", enrichment=mark)
    analytics.page("Docs", enrichment=mark)
    analytics.identify("u1", {"plan": "pro"}, enrichment=mark)
    analytics.group("g1", enrichment=mark)
    analytics.alias("u2", enrichment=mark)
    analytics.track("Dropped", enrichment=lambda event: None)
    analytics.track("Broken", enrichment=lambda event: 1 / 0)
    assert analytics.flush(timeout=5)
    events = capture.events
    assert [e.get("event") or e.get("name") or e["type"] for e in events] == [
        "Plain", "Marked", "Home", "Docs", "identify", "group", "alias", "Broken"]
    assert "closure" not in events[0]["properties"] and "closure" not in events[-1]["properties"]
    assert [e["properties"]["closure"] for e in events[1:4]] == ["track", "screen", "page"]
    assert [e["traits"]["closure"] for e in events[4:6]] == ["identify", "group"]
    assert events[6]["properties"]["closure"] == "alias"
    assert set(seen) == {"segment-statsig-timeline"}  # never the caller's thread
    assert analytics.call_enrichments == {}
    with pytest.raises(TypeError):
        analytics.track("X", enrichment="nope")


# --- user info, anonymous IDs, errors ------------------------------------------------------

def test_subscribe_to_user_info_off_the_callers_thread(tmp_path):
    analytics = Analytics(storage_dir=tmp_path, anonymous_id_generator=iter(["anon-1", "anon-2"]).__next__)
    got, threads, arrived = [], set(), threading.Condition()

    def listener(info):
        with arrived:
            got.append((info.anonymous_id, info.user_id, info.traits))
            threads.add(threading.current_thread())
            arrived.notify_all()

    unsubscribe = analytics.subscribe_to_user_info(listener)
    analytics.identify("u-1", {"plan": "pro"})
    analytics.alias("u-2")
    analytics.reset()
    with arrived:
        assert arrived.wait_for(lambda: len(got) == 4, 5)
    assert got == [("anon-1", None, {}), ("anon-1", "u-1", {"plan": "pro"}), ("anon-1", "u-2", {"plan": "pro"}),
                   ("anon-2", None, {})]
    assert threading.current_thread() not in threads
    unsubscribe()
    analytics.identify("u-3")
    assert analytics.flush(timeout=5)
    with arrived:
        assert not arrived.wait_for(lambda: len(got) > 4, 0.3)
    analytics.shutdown(1)


def test_anonymous_id_generator_at_first_launch_and_reset_and_its_failures(tmp_path, log_records):
    made = iter(["first-anon", "after-reset"])
    analytics = Analytics(storage_dir=tmp_path / "a", anonymous_id_generator=lambda: next(made))
    assert analytics.anonymous_id == "first-anon"
    analytics.reset()
    assert analytics.anonymous_id == "after-reset"
    analytics.reset()  # the generator is exhausted: raises StopIteration, a uuid4 instead
    assert len(analytics.anonymous_id) == 36 and "anonymous_id_generator failed" in log_records.text
    analytics.shutdown(1)
    again = Analytics(storage_dir=tmp_path / "a", anonymous_id_generator=lambda: "never-used")
    assert again.anonymous_id != "never-used"  # kept across launches
    again.shutdown(1)
    blank = Analytics(storage_dir=tmp_path / "b", anonymous_id_generator=lambda: "")
    assert len(blank.anonymous_id) == 36
    blank.shutdown(1)
    with pytest.raises(TypeError):
        Analytics(storage_dir=tmp_path / "c", anonymous_id_generator="id")


def test_error_handler_hears_delivery_and_settings_errors_on_workers(tmp_path, fake_statsig, fake_segment_cdn):
    errors, arrived = [], threading.Condition()
    caller = threading.current_thread()

    def handler(error):
        with arrived:
            errors.append((error, threading.current_thread()))
            arrived.notify_all()

    fake_segment_cdn.set_error("wk-err", 500)
    analytics = Analytics("wk-err", storage_dir=tmp_path, cdn_url=fake_segment_cdn.url, api_url=fake_segment_cdn.api_url,
                          error_handler=handler, settings={"integrations": {"Statsig": {"apiKey": KEY}}})
    analytics.add(StatsigDestination(api_url=fake_statsig.url, retry_base=0.02, retry_max=0.1))
    fake_statsig.respond_with_statuses([400])
    analytics.track("Refused")
    analytics.flush(timeout=5)
    with arrived:
        assert arrived.wait_for(lambda: {"settings", "delivery"} <= {e.kind for e, _ in errors}, 5), errors
    assert all(isinstance(e, AnalyticsError) and t is not caller for e, t in errors)
    assert any("HTTP 400 is final" in e.message for e, _ in errors)
    analytics.shutdown(2)
    with pytest.raises(TypeError):
        Analytics(storage_dir=tmp_path / "x", error_handler=42)


def test_settings_are_fetched_again_at_foreground_when_old(tmp_path, fake_segment_cdn):
    first = {"integrations": {"Statsig": {"apiKey": KEY}}}
    fake_segment_cdn.set_settings("wk-r", first)

    class Settings(Plugin):
        type = PluginType.UTILITY

        def __init__(self):
            self.seen, self.changed = [], threading.Condition()

        def update(self, settings, update_type):
            with self.changed:
                self.seen.append((settings, update_type.value))
                self.changed.notify_all()

    analytics = Analytics("wk-r", storage_dir=tmp_path, cdn_url=fake_segment_cdn.url,
                          api_url=fake_segment_cdn.api_url, settings_max_age=0.2)
    watcher = analytics.add(Settings())
    with watcher.changed:
        assert watcher.changed.wait_for(lambda: any(s == first for s, _ in watcher.seen), 5)
    analytics.on_foreground()  # younger than the bound: not fetched again
    assert len(fake_segment_cdn.settings_requests) == 1
    second = {"integrations": {"Statsig": {"apiKey": KEY}}, "middlewareSettings": {}}
    fake_segment_cdn.set_settings("wk-r", second)
    with watcher.changed:
        watcher.changed.wait_for(lambda: False, 0.25)  # let the settings grow older than the bound
    analytics.on_foreground()
    with watcher.changed:
        assert watcher.changed.wait_for(lambda: watcher.seen[-1] == (second, "refresh"), 5), watcher.seen
    assert len(fake_segment_cdn.settings_requests) == 2
    analytics.shutdown(1)
