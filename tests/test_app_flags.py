"""The demo's Flags screen (the QA view), run for real (SDL offscreen, real taps through the
window) against a loopback Statsig serving the demo's values: it lists every gate, config,
experiment and parameter store of the user's values with value and reason; the gate's switch
and a config's JSON editor override them (reason LocalOverride:Recognized), the overrides
outlive a restart, and Remove gives the served value back. Two runs of the app on one data
folder, each a subprocess with the app's watchdog (tests/app_runs.py)."""
import json
import textwrap

from segment_statsig.testing import FakeStatsig

from demo_app.backend import configure_stand_in
from tests.app_runs import app_env, assert_looks_like_a_screen, run

SCENARIO = textwrap.dedent("""
    import json, os, sys
    from kivy.config import Config
    Config.set("graphics", "width", "360"); Config.set("graphics", "height", "640")
    from demo_app.app import StatsigDemoApp
    from demo_app.tourkit import Driver, Wait

    class Flags(Driver):
        def row(self, name):
            return next(r for r in self.screen("flags").ids.rows.children if r.name == name)

        def rows(self):
            return {r.name: {"kind": r.kind, "value": json.loads(r.value_text), "reason": r.reason,
                             "overridden": r.overridden} for r in self.screen("flags").ids.rows.children}

        def steps(self):
            app, first = self.app, sys.argv[3] == "first"
            destination = app.backend.destination
            yield 3
            yield self._in_background("values", lambda: destination.wait_for_values(10), 12)
            yield from self.go("settings", "settings")
            yield from self.tap(self.screen("settings").ids.flags_button,
                                lambda: app.screens.current == "flags", "the flags screen")
            yield Wait("rows", lambda: len(self.screen("flags").ids.rows.children) >= 4, 5)
            state = {"arrived": self.rows()}
            if first:
                switch = self.row("express_checkout").ids.gate_switch
                yield from self.tap(switch, lambda: self.rows()["express_checkout"]["overridden"], "gate override")
                row = self.row("shipping")
                row.ids.editor.text = '{"free_over": 0, "carrier": "QA Express"}'
                yield from self.tap(row.ids.apply_button, lambda: self.rows()["shipping"]["overridden"],
                                    "config override")
                state["overridden"] = self.rows()
                state["checks"] = {"gate": destination.check_gate("express_checkout", log_exposure=False),
                                   "free_over": destination.get_config("shipping", log_exposure=False).get("free_over")}
                self.screen("flags").ids.scroller.scroll_y = 1
                app.frame.message = ""  # the bar saying what the last tap did would cover the top
                yield 3
                self.shot("flags")
                self.screen("flags").ids.scroller.scroll_y = 0
                yield 3
                self.shot("flags_more")
            else:
                yield from self.tap(self.row("shipping").ids.remove_button,
                                    lambda: not self.rows()["shipping"]["overridden"], "remove the config override")
                state["removed"] = self.rows()
            with open(os.path.join(self.out_dir, sys.argv[3] + ".json"), "w") as f:
                json.dump(state, f)

    app = StatsigDemoApp(data_dir=sys.argv[2], deterministic=True)
    scenario = Flags(app, sys.argv[1], watchdog=40)
    if not scenario.run_app():
        print("scenario failed:", scenario.error, file=sys.stderr)
        sys.exit(1)
""")


def test_flags_screen_lists_values_overrides_them_and_keeps_them_across_a_restart(tmp_path):
    data_dir, out = tmp_path / "data", tmp_path / "out"
    with FakeStatsig() as statsig:
        configure_stand_in(statsig)
        env = app_env(tmp_path, SEGMENT_STATSIG_DEMO_KEY="client-flags-test",
                      SEGMENT_STATSIG_DEMO_API_URL=statsig.url)
        run(["-c", SCENARIO, str(out), str(data_dir), "first"], env, timeout=90)
        run(["-c", SCENARIO, str(out), str(data_dir), "second"], env, timeout=90)
        exposures = [e for e in statsig.events if e["eventName"].startswith("statsig::")]
    first = json.loads((out / "first.json").read_text())
    second = json.loads((out / "second.json").read_text())

    arrived = first["arrived"]
    assert arrived["express_checkout"] == {"kind": "gate", "value": False, "reason": "Network:Recognized",
                                           "overridden": False}  # anonymous: the gate fails
    assert arrived["shipping"]["kind"] == "config" and arrived["shipping"]["value"]["free_over"] == 50
    assert arrived["checkout_copy"]["kind"] == "parameter_store"
    assert arrived["checkout_copy"]["value"]["express_label"] == "Log in for express"
    assert {r["kind"] for r in arrived.values()} == {"gate", "config", "experiment", "parameter_store"}
    # the switch and the editor override; checks answer the overrides
    overridden = first["overridden"]
    assert overridden["express_checkout"]["value"] is True
    assert overridden["express_checkout"]["reason"] == "LocalOverride:Recognized"
    assert overridden["shipping"]["value"] == {"free_over": 0, "carrier": "QA Express"}
    assert overridden["checkout_copy"]["value"]["express_label"] == "Express checkout"  # through the gate
    assert first["checks"] == {"gate": True, "free_over": 0}
    # a restart: both overrides are still there; Remove gives the served value back
    assert second["arrived"]["express_checkout"]["overridden"] is True
    assert second["arrived"]["shipping"]["value"]["carrier"] == "QA Express"
    assert second["removed"]["shipping"] == {"kind": "config", "value": {"free_over": 50, "carrier": "Trail Post"},
                                             "reason": "Network:Recognized", "overridden": False}
    # the QA view logs no exposure
    assert exposures == []
    assert_looks_like_a_screen(out / "flags.png", (360, 640))
    assert_looks_like_a_screen(out / "flags_more.png", (360, 640))
