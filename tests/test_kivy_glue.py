"""segment_statsig.kivy: screen tracking, lifecycle and device context, with a plain
ScreenManager and App (no window, no main loop) and, end to end, a real Analytics
sending to the loopback fake Statsig."""
import os
import sys
import tempfile
import types

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_FILELOG", "1")
os.environ.setdefault("KIVY_NO_CONFIG", "1")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))

import pytest  # noqa: E402
from kivy.app import App  # noqa: E402
from kivy.event import EventDispatcher  # noqa: E402
from kivy.properties import ListProperty  # noqa: E402
from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager  # noqa: E402

from segment_statsig.kivy import bind_lifecycle, device_context, track_device_context, track_screens  # noqa: E402

KEY = "client-kivy-glue-test"


class Recorder:
    """A stand-in for Analytics that keeps the calls it gets."""

    def __init__(self, fail_on=()):
        self.calls = []
        self.fail_on = set(fail_on)

    def _keep(self, name, *args):
        self.calls.append((name, *args))
        if name in self.fail_on:
            raise RuntimeError(f"{name} failed")

    def screen(self, title, category=None, properties=None):
        self._keep("screen", title, category, properties)

    def on_start(self):
        self._keep("on_start")

    def on_background(self):
        self._keep("on_background")

    def on_foreground(self):
        self._keep("on_foreground")

    def shutdown(self, timeout=5.0):
        self._keep("shutdown", timeout)
        return True

    def set_context(self, **parts):
        self._keep("set_context", parts)


def manager(*names):
    sm = ScreenManager(transition=NoTransition())
    for name in names:
        sm.add_widget(Screen(name=name))
    return sm


# --- track_screens --------------------------------------------------------------------

def test_track_screens_sends_the_initial_screen_and_every_change():
    sm = manager("home", "catalog", "settings")
    analytics = Recorder()
    tracker = track_screens(sm, analytics)
    sm.current = "catalog"
    sm.current = "settings"
    sm.current = "settings"  # no change: no call
    sm.current = "home"
    assert [c[1] for c in analytics.calls] == ["home", "catalog", "settings", "home"]
    assert tracker.last == "home"


def test_track_screens_unbind_stops_tracking():
    sm = manager("a", "b")
    analytics = Recorder()
    tracker = track_screens(sm, analytics)
    tracker.unbind()
    tracker.unbind()  # twice is harmless
    sm.current = "b"
    assert [c[1] for c in analytics.calls] == ["a"]


def test_track_screens_renames_skips_and_adds_category_and_properties():
    sm = manager("home", "debug", "product")
    analytics = Recorder()
    track_screens(sm, analytics, name_for=lambda n: None if n == "debug" else n.title(),
                  category="Shop", properties=lambda n: {"screen_key": n})
    sm.current = "debug"
    sm.current = "product"
    assert analytics.calls == [("screen", "Home", "Shop", {"screen_key": "home"}),
                               ("screen", "Product", "Shop", {"screen_key": "product"})]


def test_track_screens_on_an_empty_manager_waits_for_the_first_screen():
    sm = ScreenManager(transition=NoTransition())
    analytics = Recorder()
    track_screens(sm, analytics)
    assert analytics.calls == []
    sm.add_widget(Screen(name="first"))  # the first screen added becomes current
    assert [c[1] for c in analytics.calls] == ["first"]


def test_a_failing_screen_call_does_not_break_navigation(caplog):
    sm = manager("a", "b")
    track_screens(sm, Recorder(fail_on={"screen"}))
    sm.current = "b"
    assert sm.current == "b"
    assert "screen tracking" in caplog.text


# --- bind_lifecycle -------------------------------------------------------------------

class QuietApp(App):
    """An App that is never run: its events are dispatched by the test, as Kivy would."""

    def __init__(self, pause_answer=True, **kw):
        super().__init__(**kw)
        self.pause_answer = pause_answer
        self.own = []

    def build(self):  # pragma: no cover - never run
        return None

    def on_pause(self):
        self.own.append("on_pause")
        return self.pause_answer

    def on_resume(self):
        self.own.append("on_resume")

    def on_stop(self):
        self.own.append("on_stop")


def test_lifecycle_maps_app_events_to_analytics():
    app, analytics = QuietApp(), Recorder()
    bind_lifecycle(app, analytics, shutdown_timeout=2.5)
    app.dispatch("on_start")
    app.dispatch("on_pause")
    app.dispatch("on_resume")
    app.dispatch("on_stop")
    assert [c[0] for c in analytics.calls] == ["on_start", "on_background", "on_foreground", "shutdown"]
    assert analytics.calls[-1] == ("shutdown", 2.5)


def test_on_stop_waits_at_most_a_quarter_second_by_default():
    # on_stop runs on Kivy's main thread (Android's 5 s ANR clock): the journal already
    # holds every call, so the stop gives the network a short, documented bound only.
    app, analytics = QuietApp(), Recorder()
    bind_lifecycle(app, analytics)
    app.dispatch("on_stop")
    assert analytics.calls == [("shutdown", 0.25)]


def test_on_stop_twice_shuts_down_once():
    # App.stop() dispatches on_stop, then App.run() dispatches it again on its way out.
    app, analytics = QuietApp(), Recorder()
    bind_lifecycle(app, analytics)
    app.dispatch("on_stop")
    app.dispatch("on_stop")
    assert [c[0] for c in analytics.calls] == ["shutdown"]
    assert app.own == ["on_stop", "on_stop"]  # the app's own handler still ran both times


@pytest.mark.parametrize("answer", [True, False])
def test_the_apps_own_on_pause_still_decides(answer):
    # Kivy pauses when dispatch("on_pause") is truthy; the glue must not answer for the app.
    app, analytics = QuietApp(pause_answer=answer), Recorder()
    bind_lifecycle(app, analytics)
    assert bool(app.dispatch("on_pause")) is answer
    assert app.own == ["on_pause"]
    assert analytics.calls == [("on_background",)]


def test_analytics_errors_never_reach_the_app(caplog):
    app = QuietApp()
    bind_lifecycle(app, Recorder(fail_on={"on_background", "on_foreground", "shutdown", "on_start"}))
    for event in ("on_start", "on_pause", "on_resume", "on_stop"):
        app.dispatch(event)
    assert app.own == ["on_pause", "on_resume", "on_stop"]
    assert caplog.text.count("lifecycle: analytics.") == 4


def test_lifecycle_unbind():
    app, analytics = QuietApp(), Recorder()
    binding = bind_lifecycle(app, analytics)
    binding.unbind()
    app.dispatch("on_pause")
    assert analytics.calls == []


# --- device context -------------------------------------------------------------------

class FakeWindow(EventDispatcher):
    size = ListProperty([360, 640])


def test_device_context_on_a_desktop():
    context = device_context(FakeWindow(), "linux")
    assert context["screen"]["width"] == 360 and context["screen"]["height"] == 640
    assert context["screen"]["density"] > 0
    assert context["os"]["name"] == "Linux"
    assert context["device"]["type"] == "desktop"


def android_classes(locale="de-DE", zone="Europe/Berlin"):
    """pyjnius's stand-in: the Java classes the glue reads on Android, by name."""
    build = types.SimpleNamespace(MANUFACTURER="Google", MODEL="Pixel 8")
    version = types.SimpleNamespace(RELEASE="14", SDK_INT=34)
    java_locale = types.SimpleNamespace(getDefault=lambda: types.SimpleNamespace(toLanguageTag=lambda: locale))
    java_zone = types.SimpleNamespace(getDefault=lambda: types.SimpleNamespace(getID=lambda: zone))
    return {"android.os.Build": build, "android.os.Build$VERSION": version,
            "java.util.Locale": java_locale, "java.util.TimeZone": java_zone}


def test_device_context_on_android_reads_android_os_build(monkeypatch):
    classes = android_classes()
    monkeypatch.setitem(sys.modules, "jnius", types.SimpleNamespace(autoclass=classes.__getitem__))
    context = device_context(FakeWindow(size=[1080, 2400]), "android")
    assert context["os"] == {"name": "Android", "version": "14", "sdk": 34}
    assert context["device"]["type"] == "android"
    assert context["device"]["manufacturer"] == "Google" and context["device"]["model"] == "Pixel 8"
    assert context["screen"]["width"] == 1080
    # the user's locale and time zone, from Android: Python's own say C.UTF-8 / UTC there
    assert (context["locale"], context["timezone"]) == ("de-DE", "Europe/Berlin")


def test_android_locale_and_time_zone_reach_statsig(monkeypatch, tmp_path, fake_statsig):
    """Under python-for-android Python's locale is C.UTF-8 for everyone: the glue reads the
    user's from java.util through pyjnius (its stand-in here), and the events carry it."""
    classes = android_classes("pt-BR", "America/Sao_Paulo")
    monkeypatch.setitem(sys.modules, "jnius", types.SimpleNamespace(autoclass=classes.__getitem__))
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("TZ", "UTC")
    from segment_statsig import Analytics, StatsigDestination

    analytics = Analytics(storage_dir=tmp_path, settings={"integrations": {"Statsig": {"apiKey": KEY}}})
    analytics.add(StatsigDestination(api_url=fake_statsig.url))
    try:
        track_device_context(analytics, FakeWindow(size=[1080, 2400]), "android")
        analytics.track("Login Button Clicked")
        assert analytics.flush(timeout=5)
        [event] = fake_statsig.events
        assert event["user"]["locale"] == "pt-BR"
        context = analytics.context.current()
        assert (context["locale"], context["timezone"]) == ("pt-BR", "America/Sao_Paulo")
    finally:
        analytics.shutdown(2)


def test_device_context_on_android_without_pyjnius_still_works(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "jnius", None)  # import fails
    context = device_context(FakeWindow(), "android")
    assert context["os"]["name"] == "Android" and context["device"]["type"] == "android"
    assert "android.os.Build unavailable" in caplog.text
    assert "java.util.Locale / TimeZone unavailable" in caplog.text and "locale" not in context


def test_device_context_follows_the_window_size():
    window, analytics = FakeWindow(), Recorder()
    binding = track_device_context(analytics, window, "ios")
    window.size = [640, 360]  # rotated
    screens = [c[1]["screen"] for c in analytics.calls]
    assert screens[0]["width"] == 360 and screens[-1]["width"] == 640
    assert analytics.calls[-1][1]["os"]["name"] == "iOS"
    binding.unbind()
    window.size = [100, 100]
    assert analytics.calls[-1][1]["screen"]["width"] == 640


# --- end to end: the glue, the real client, the loopback Statsig ---------------------------

def test_glue_with_the_real_client_reaches_statsig(tmp_path, fake_statsig):
    from segment_statsig import Analytics, StatsigDestination

    analytics = Analytics(storage_dir=tmp_path, settings={"integrations": {"Statsig": {"apiKey": KEY}}},
                          track_lifecycle_events=True, app_info={"version": "2.0.0", "build": "5"},
                          flush_at=1000, flush_interval=3600)  # sends only when flushed
    analytics.add(StatsigDestination(api_url=fake_statsig.url, retry_base=0.02))
    app, sm = QuietApp(), manager("home", "catalog")
    bind_lifecycle(app, analytics, shutdown_timeout=5.0)  # this app may wait at stop: the rest goes then
    track_device_context(analytics, FakeWindow(), "linux")
    track_screens(sm, analytics)
    app.dispatch("on_start")
    sm.current = "catalog"
    app.dispatch("on_pause")  # flushes: no need to wait for the timer or a batch to fill
    assert fake_statsig.wait_for_events(5, timeout=5)
    app.dispatch("on_resume")
    app.dispatch("on_stop")   # shutdown: delivers the rest
    app.dispatch("on_stop")
    names = [e["eventName"] for e in fake_statsig.events]
    assert names == ["segment_track:Application Installed", "segment_track:Application Opened",
                     "segment_screen:home", "segment_screen:catalog", "segment_track:Application Backgrounded",
                     "segment_track:Application Opened"]
    assert fake_statsig.events[-1]["metadata"]["from_background"] == "true"
    assert all(e["user"]["appVersion"] == "2.0.0" for e in fake_statsig.events)
    # Backgrounded was sent by the pause's flush, before the shutdown sent the return's Opened.
    batches = [[e["eventName"] for e in r.body["events"]] for r in fake_statsig.event_requests]
    assert batches[-1] == ["segment_track:Application Opened"]
    assert all(r.headers["STATSIG-API-KEY"] == KEY for r in fake_statsig.event_requests)


def test_pausing_from_code_is_kivys_event_and_the_doc_says_so():
    """The glue binds to Kivy's events: app.on_pause() runs the app's method only, so an
    app (or a test) pauses with app.dispatch("on_pause"), as docs/DEMO.md tells it."""
    from pathlib import Path

    app, analytics = QuietApp(), Recorder()
    bind_lifecycle(app, analytics)
    app.on_pause()
    assert analytics.calls == []
    app.dispatch("on_pause")
    assert analytics.calls == [("on_background",)]
    demo = (Path(__file__).resolve().parents[1] / "docs" / "DEMO.md").read_text()
    assert 'app.dispatch("on_pause")' in demo and "shutdown_timeout" in demo


# --- Statsig listeners on Kivy's main thread ------------------------------------------
def test_on_main_thread_delivers_a_statsig_listener_event_on_the_main_thread(tmp_path, fake_statsig):
    import threading
    import time

    from kivy.clock import Clock

    from segment_statsig import Analytics, StatsigDestination
    from segment_statsig.kivy import on_main_thread

    fake_statsig.set_gate("g", True)
    analytics = Analytics(storage_dir=tmp_path, settings={"integrations": {"Statsig": {"apiKey": KEY}}})
    dest = analytics.add(StatsigDestination(api_url=fake_statsig.url))
    got = []
    dest.on("values_updated", on_main_thread(lambda event: got.append((event["reason"], threading.current_thread()))))
    try:
        dest.prefetch_values()
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:  # Kivy's loop, by hand: the frames run here
            Clock.tick()
            time.sleep(0.01)
    finally:
        analytics.shutdown(2)
    assert got == [("Network", threading.main_thread())]
