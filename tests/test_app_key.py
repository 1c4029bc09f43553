"""The demo app's Statsig key: one saved by the settings screen sends to that Statsig (no
local stand-in), and the environment's comes first."""
import json
import textwrap

from segment_statsig.testing import FakeStatsig

from .app_runs import app_env, assert_looks_like_a_screen, run

SCENARIO = textwrap.dedent("""
    import json, os, sys
    from kivy.config import Config
    Config.set("graphics", "width", "360"); Config.set("graphics", "height", "640")
    from demo_app.app import StatsigDemoApp
    from demo_app.tourkit import Driver

    class Shop(Driver):
        def steps(self):
            app = self.app
            yield 3
            home = self.screen("home")
            yield from self.press_call(home.ids.login_button, "login")
            yield from self.go("shop", "catalog")
            yield from self.open_product("sku-1004")
            yield from self.tap(self.screen("product").ids.buy_button,
                                lambda: app.screens.current == "checkout", "checkout")
            checkout = self.screen("checkout")
            yield from self.tap(checkout.ids.place_order_button, lambda: checkout.placed, "the order")
            yield from self.tap(self.tab("home"), lambda: app.screens.current == "home", "home")
            self.shot("home_with_key")
            with open(os.path.join(self.out_dir, "state.json"), "w") as f:
                json.dump({"mode": app.backend.mode, "key_source": app.backend.key_source,
                           "api_url": app.backend.api_url, "mode_label": app.mode_label}, f)
            # on_stop does not wait for Statsig (it blocks the UI thread at most 0.25 s):
            # deliver first, as the app's own "Flush now" does, then app.stop()
            yield self.delivered("everything before the stop")

    app = StatsigDemoApp(data_dir=sys.argv[2])
    tour = Shop(app, sys.argv[1], watchdog=40)
    if not tour.run_app():
        print("scenario failed:", tour.error, file=sys.stderr)
        sys.exit(1)
""")


def test_with_a_key_from_the_settings_file_the_app_sends_to_that_statsig(tmp_path):
    """A key saved by the settings screen: no local stand-in; events go to the configured
    Statsig (here a loopback fake that accepts only that key)."""
    key = "client-from-settings-file"
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "statsig_key.txt").write_text(key + "\n")
    out = tmp_path / "out"
    with FakeStatsig(api_keys={key}) as statsig:
        run(["-c", SCENARIO, str(out), str(data_dir)],
            app_env(tmp_path, SEGMENT_STATSIG_DEMO_API_URL=statsig.url), timeout=90)
        assert statsig.wait_for_events(12, timeout=5)
        events = statsig.events
        requests = statsig.event_requests
        initialize = statsig.initialize_requests
        url = statsig.url
    names = [e["eventName"] for e in events if not e["eventName"].startswith("statsig::")]
    state = json.loads((out / "state.json").read_text())
    assert state == {"mode": "statsig", "key_source": "settings", "api_url": url,
                     "mode_label": "Statsig"}
    assert names == ["segment_track:Application Installed", "segment_track:Application Opened",
                     "segment_screen:Home", "segment_track:Login Button Clicked", "segment_screen:Catalog",
                     "segment_screen:Product", "segment_screen:Checkout", "segment_track:Product Added",
                     "segment_track:Order Completed", "segment_screen:Home"]
    assert all(r.headers["STATSIG-API-KEY"] == key and r.status == 202 for r in requests)
    # prefetched at start, with the same key; this project serves neither name: the
    # checks answered the defaults and still logged their exposures
    assert initialize and all(r.headers["STATSIG-API-KEY"] == key and r.status == 200 for r in initialize)
    exposures = [(e["eventName"], e["metadata"].get("gate") or e["metadata"].get("config"))
                 for e in events if e["eventName"].startswith("statsig::")]
    assert sorted(exposures) == [("statsig::config_exposure", "checkout_button"),
                                 ("statsig::gate_exposure", "express_checkout")]
    assert_looks_like_a_screen(out / "home_with_key.png", (360, 640))


def test_the_app_reads_the_key_from_the_environment_first(tmp_path, monkeypatch):
    from demo_app.backend import KEY_ENV, read_key, save_key

    save_key(str(tmp_path), "client-file")
    assert read_key(str(tmp_path)) == ("client-file", "settings")
    monkeypatch.setenv(KEY_ENV, "client-env")
    assert read_key(str(tmp_path)) == ("client-env", "environment")
    monkeypatch.delenv(KEY_ENV)
    save_key(str(tmp_path), "")
    assert read_key(str(tmp_path)) == (None, None)
