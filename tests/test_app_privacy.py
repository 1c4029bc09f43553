"""The demo's Privacy screen, run for real (SDL offscreen, real taps through the window)
with a Statsig key against a loopback Statsig: a consent switch blocks an event and
then lets the next through, the destination filter drops Internal Debug, the opt-out
switch stops every row and outlives a restart, and erase empties the queue.

Two runs of the app on one data folder, each a subprocess with the app's watchdog and
a timeout here (tests/app_runs.py). The app runs in its deterministic mode (it sends
only when flushed), so what waits to be erased has not been sent by a timer meanwhile.
"""
import json
import textwrap

from segment_statsig.testing import FakeStatsig

from tests.app_runs import app_env, assert_looks_like_a_screen, run

SCENARIO = textwrap.dedent("""
    import json, os, sys
    from kivy.config import Config
    Config.set("graphics", "width", "360"); Config.set("graphics", "height", "640")
    from demo_app.app import StatsigDemoApp
    from demo_app.tourkit import Driver, Wait

    class Privacy(Driver):
        def rows(self):
            return self.app.backend.event_log.rows()

        def newest(self, call_text, state):
            return lambda: any(r["call_text"] == call_text and r["delivery"] == state for r in self.rows())

        def switch(self, category):
            rows = self.screen("privacy").ids.consent_rows.children
            return next(r for r in rows if r.category == category).ids.switch

        def open_privacy(self):
            yield from self.go("settings", "settings")
            yield from self.tap(self.screen("settings").ids.privacy_button,
                                lambda: self.app.screens.current == "privacy", "the privacy screen")

        def steps(self):
            app, first = self.app, sys.argv[3] == "first"
            yield 3
            state = {"rows_on_arrival": len(self.rows()), "collecting_on_arrival": app.analytics.enabled}
            yield from self.open_privacy()
            privacy = self.screen("privacy")
            state["switches"] = {r.category: r.ids.switch.active for r in privacy.ids.consent_rows.children}
            state["collect_switch"] = privacy.ids.collect_switch.active
            test, debug = privacy.ids.test_event_button, privacy.ids.debug_event_button
            if first:
                yield from self.press_call(self.switch("analytics"), "analytics consent off")
                yield from self.press_call(test, "Test Event without consent")
                yield Wait("a blocked row", self.newest("track  Test Event", "blocked"), 5)
                state["blocked"] = self.rows()[0]
                state["blocked_message"] = app.frame.message
                yield from self.press_call(self.switch("analytics"), "analytics consent on")
                yield from self.press_call(test, "Test Event with consent")
                yield Wait("a queued row", self.newest("track  Test Event", "queued"), 5)
                state["allowed"] = self.rows()[0]
                yield from self.press_call(debug, "Internal Debug")
                yield Wait("a filtered row", self.newest("track  Internal Debug", "filtered"), 5)
                state["filtered"] = self.rows()[0]
                yield Wait("the screen's counters", lambda: app.filtered_count == 1, 5)  # the next refresh
                state["counts"] = {"blocked": app.blocked_count, "filtered": app.filtered_count}
                yield from self.go("events", "events")
                yield from self.flush("delivery")
                yield Wait("the allowed event sent", self.newest("track  Test Event", "sent"), 5)
                yield from self.open_privacy()
                yield from self.press_call(self.switch("marketing"), "marketing consent off")
                yield from self.press_call(privacy.ids.collect_switch, "opting out")
                yield 2
                before = (len(self.rows()), app.backend.queue_depth())
                yield from self.press_call(test, "Test Event while opted out")
                yield from self.press_call(debug, "Internal Debug while opted out")
                yield from self.go("home", "home")
                yield from self.press_call(self.screen("home").ids.login_button, "login while opted out")
                yield 3
                state["opted_out"] = {"before": before, "after": (len(self.rows()), app.backend.queue_depth()),
                                      "log_view": len(self.screen("events").ids.log_view.data),
                                      "note": app.delivery_note}
            else:
                yield from self.press_call(privacy.ids.collect_switch, "opting back in")
                yield from self.press_call(test, "Test Event to erase")
                yield Wait("a queued row", self.newest("track  Test Event", "queued"), 5)
                state["queue_before_erase"] = app.backend.queue_depth()
                yield from self.press_call(privacy.ids.erase_button, "erase")
                yield Wait("the erase to finish", lambda: not privacy.erasing and "purge()" in app.frame.message, 15)
                state["queue_after_erase"] = app.backend.queue_depth()
                state["erase_message"] = app.frame.message
                state["rows_after_erase"] = self.rows()
                yield 3
                self.shot("privacy_erased")
            with open(os.path.join(self.out_dir, sys.argv[3] + ".json"), "w") as f:
                json.dump(state, f)

    app = StatsigDemoApp(data_dir=sys.argv[2], deterministic=True)
    scenario = Privacy(app, sys.argv[1], watchdog=40)
    if not scenario.run_app():
        print("scenario failed:", scenario.error, file=sys.stderr)
        sys.exit(1)
""")


def test_privacy_screen_consent_filter_opt_out_across_a_restart_and_erase(tmp_path):
    data_dir, out = tmp_path / "data", tmp_path / "out"
    with FakeStatsig() as statsig:
        env = app_env(tmp_path, SEGMENT_STATSIG_DEMO_KEY="client-privacy-test",
                      SEGMENT_STATSIG_DEMO_API_URL=statsig.url)
        run(["-c", SCENARIO, str(out), str(data_dir), "first"], env, timeout=90)
        after_first = [e["eventName"] for e in statsig.events]
        run(["-c", SCENARIO, str(out), str(data_dir), "second"], env, timeout=90)
        after_second = [e["eventName"] for e in statsig.events]
    first = json.loads((out / "first.json").read_text())
    second = json.loads((out / "second.json").read_text())

    # First launch: every category given, collecting.
    assert first["switches"] == {"analytics": True, "marketing": True} and first["collect_switch"] is True
    # Consent off: the Test Event is blocked, on its row and in what the screen said.
    blocked = first["blocked"]
    assert blocked["state_text"] == "blocked" and blocked["statsig_text"] == "Not sent: blocked by consent"
    assert blocked["user_text"] == "consent: analytics=false, marketing=true"
    assert "the consent blocker keeps it from Statsig" in first["blocked_message"]
    # Consent on again: the next one is queued, and sent on the flush.
    assert first["allowed"]["statsig_text"] == "segment_track:Test Event"
    # The destination filter from the settings drops Internal Debug.
    assert first["filtered"]["state_text"] == "filtered"
    assert first["filtered"]["statsig_text"] == "Not sent: filtered by a rule"
    assert first["counts"] == {"blocked": 1, "filtered": 1}
    # Statsig got the allowed Test Event once, both preference events, no Internal Debug.
    assert after_first.count("segment_track:Test Event") == 1
    assert "segment_track:Internal Debug" not in after_first
    preference = "segment_track:Segment Consent Preference Updated"
    assert after_first.count(preference) == 3  # analytics off, on, marketing off: every one passes
    # Opted out: three calls and a screen change, and not one row or queued event more.
    out_state = first["opted_out"]
    assert out_state["after"] == out_state["before"] and out_state["log_view"] == out_state["before"][0]
    assert "opted out" in out_state["note"]
    assert "segment_track:Login Button Clicked" not in after_first
    assert after_first.count("segment_screen:Home") == 1  # the launch's, before the opt-out

    # Restart: still opted out (not even Application Opened made a row), choices kept.
    assert second["collecting_on_arrival"] is False and second["rows_on_arrival"] == 0
    assert second["collect_switch"] is False
    assert second["switches"] == {"analytics": True, "marketing": False}
    # Back in, one event queued, then erased: the queue is empty and the log says so.
    assert second["queue_before_erase"] >= 1 and second["queue_after_erase"] == 0
    rows = second["rows_after_erase"]
    assert rows[0]["call_text"].startswith("purge()") and rows[0]["state_text"] == "erased"
    test_row = next(r for r in rows if r["call_text"] == "track  Test Event")
    assert test_row["state_text"] == "erased"
    assert second["erase_message"].startswith("analytics.purge() erased every event waiting on this device")
    # Nothing of the second run reached Statsig: opted out, then erased.
    assert after_second == after_first
    assert_looks_like_a_screen(out / "privacy_erased.png", (360, 640))


# --- the consent platform the demo's ConsentManager asks ----------------------------------

def test_consent_choices_default_to_given_are_kept_and_survive_a_bad_file(tmp_path):
    from demo_app.privacy import CONSENT_FILE, ConsentChoices

    choices = ConsentChoices(str(tmp_path))
    assert choices.get_categories() == {"analytics": True, "marketing": True}  # never asked: "Accept all"
    choices.choose("marketing", False)
    assert ConsentChoices(str(tmp_path)).get_categories() == {"analytics": True, "marketing": False}
    choices.set_category_list(["analytics", "ads"])  # the settings name the categories
    assert choices.get_categories() == {"analytics": True, "ads": True}
    (tmp_path / CONSENT_FILE).write_text("{not json")
    assert ConsentChoices(str(tmp_path)).get_categories() == {"analytics": True, "marketing": True}


def test_the_demo_settings_carry_one_rule_and_one_consent_mapping():
    from segment_statsig.consent import ConsentState
    from segment_statsig.filters import routing_rules, rules_for

    from demo_app.privacy import demo_settings

    settings = demo_settings("client-x")
    assert settings["integrations"]["Statsig"]["apiKey"] == "client-x"
    assert len(rules_for(routing_rules(settings), "Statsig")) == 1
    state = ConsentState.from_settings(settings)
    assert state.destination_categories == {"Statsig": ["analytics"]}
    assert state.all_categories == ["analytics", "marketing"] and state.has_unmapped_destinations is False
