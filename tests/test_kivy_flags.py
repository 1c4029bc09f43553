"""segment_statsig.kivy's StatsigFlags, FeatureGate and ExperimentSwitch, run for real: a
Kivy window (SDL offscreen) with KV rules over app.flags, a real Analytics and Statsig
destination against the loopback FakeStatsig, one step per frame with a watchdog (the app
tests' Driver, tests/app_runs.py). The UI follows a gate changed by an override, a refresh
and an identify within a few frames of the destination's event; the exposures counted at
FakeStatsig are one per user, value and rule shown, none for a widget never shown, none
while opted out."""
import collections
import json
import textwrap

from tests.app_runs import app_env, run

SCENARIO = textwrap.dedent("""
    import json, os, sys, tempfile
    from kivy.config import Config
    Config.set("graphics", "width", "360"); Config.set("graphics", "height", "640")
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.lang import Builder
    from segment_statsig import Analytics, StatsigDestination
    from segment_statsig.kivy import StatsigFlags
    from segment_statsig.testing import FakeStatsig
    from demo_app.tourkit import Driver, Wait

    KV = '''
    ScreenManager:
        Screen:
            name: 'blank'
        Screen:
            name: 'main'
            BoxLayout:
                orientation: 'vertical'
                Label:
                    id: rule
                    text: 'on' if app.flags.gates['g'] else 'off'
                FeatureGate:
                    id: gate
                    gate: 'g'
                    Button:
                        id: passing
                        text: 'new'
                    FeatureGateElse:
                        Label:
                            text: 'old'
                ExperimentSwitch:
                    id: switch
                    experiment: 'exp'
                    parameter: 'colour'
                    Variant:
                        value: 'blue'
                        Label:
                            text: 'blue'
                    Variant:
                        default: True
                        Label:
                            text: 'plain'
        Screen:
            name: 'never'
            FeatureGate:
                gate: 'hidden_gate'
                Label:
                    text: 'never shown'
        Screen:
            name: 'opted_out'
            FeatureGate:
                id: other
                gate: 'g2'
                Label:
                    text: 'g2'
    '''
    SERVED = {"g": {None: False, "u1": True}, "g2": True, "hidden_gate": True}

    statsig = FakeStatsig()
    statsig.start()
    statsig.set_gate("g", lambda user: SERVED["g"][user.get("userID")])
    statsig.set_gate("g2", True)
    statsig.set_gate("hidden_gate", True)
    statsig.set_experiment("exp", lambda user: ("Blue", {"colour": "blue"}) if user.get("userID") else
                           ("Control", {"colour": "grey"}))


    class FlagsApp(App):
        def load_kv(self, filename=None):  # (the KV is the string above)
            pass

        def build(self):
            self.analytics = Analytics(settings={"integrations": {"Statsig": {"apiKey": "client-kv-flags"}}},
                                       storage_dir=tempfile.mkdtemp(), flush_at=1000)
            self.statsig = self.analytics.add(StatsigDestination(api_url=statsig.url))
            self.flags = StatsigFlags(self.statsig, gates=["g"])
            return Builder.load_string(KV)


    class Steps(Driver):
        frames = {}

        def follows(self, what, condition, start):
            def check():
                if condition():
                    self.frames[what] = Clock.frames - start[0]
                    return True
                return False
            return Wait(what, check, 10)

        def _fail(self, what):
            raise RuntimeError(what)

        def passing(self):
            ids = self.app.root.ids
            return ids.passing in ids.gate.children

        def delivered(self, what):
            return self._in_background(what, lambda: self.app.analytics.flush(10), 12)

        def steps(self):
            app, dest = self.app, self.app.statsig
            mark = [0]
            dest.on("values_updated", lambda e: mark.__setitem__(0, Clock.frames))
            dest.on("user_changed", lambda e: mark.__setitem__(0, Clock.frames))
            yield self._in_background("values", lambda: dest.wait_for_values(10), 12)
            app.root.current = "main"
            main = app.root  # (the ids are the root rule's)
            yield Wait("the served value", lambda: main.ids.rule.text == "off" and not self.passing(), 5)
            yield 3
            # an override: the destination's overrides_updated, then a frame
            mark[0] = Clock.frames
            dest.override_gate("g", True)
            yield self.follows("override", lambda: main.ids.rule.text == "on" and self.passing(), mark)
            yield 3
            dest.remove_gate_override("g")
            yield Wait("the override removed", lambda: main.ids.rule.text == "off" and not self.passing(), 5)
            yield 3
            # a refresh: the server's value changed
            SERVED["g"][None] = True
            dest.refresh_values()
            yield self.follows("refresh", lambda: main.ids.rule.text == "on" and self.passing(), mark)
            yield 3
            # an identify: u1 is served True, and group Blue of exp
            SERVED["g"][None] = False
            app.analytics.identify("u1")
            yield self.follows("identify", lambda: app.flags.reason == "Network" and dest.user.get("userID") == "u1"
                               and main.ids.switch.value == "blue" and self.passing(), mark)
            yield 3
            variant = [w.text for v in main.ids.switch.children for w in v.children]
            yield self.delivered("the exposures so far")
            exposures_before_opt_out = len(statsig.events)
            # opted out: values still followed, shown, no exposure
            app.analytics.enabled = False
            app.root.current = "opted_out"
            other = app.root.ids.other
            yield Wait("g2 shown", lambda: other.shown and other.passes, 5)
            yield 3
            app.root.current = "main"
            dest.override_gate("g", False)
            yield Wait("the override while opted out", lambda: main.ids.rule.text == "off" and not self.passing(), 5)
            yield 3
            app.analytics.enabled = True
            yield self.delivered("anything the opted-out part logged")
            result = {"frames": self.frames, "variant": variant, "gates": dict(app.flags.gates),
                      "events_before_opt_out": exposures_before_opt_out, "events": statsig.events}
            with open(os.path.join(self.out_dir, "result.json"), "w") as f:
                json.dump(result, f)

    app = FlagsApp()
    steps = Steps(app, sys.argv[1], watchdog=60)
    ok = steps.run_app()
    app.analytics.shutdown(5)
    statsig.stop()
    if not ok:
        ids = app.root.ids
        print("scenario failed:", steps.error, ids.rule.text, ids.gate.passes, ids.gate.shown, dict(app.flags.gates),
              app.flags.version, file=sys.stderr)
        sys.exit(1)
""")


def test_kv_rules_and_feature_gate_follow_overrides_refresh_identify_and_expose_once_per_shown_value(tmp_path):
    out = tmp_path / "out"
    run(["-c", SCENARIO, str(out)], app_env(tmp_path), timeout=120)
    result = json.loads((out / "result.json").read_text())
    # within a few frames of the destination's event (overrides_updated, values_updated, user_changed)
    assert set(result["frames"]) == {"override", "refresh", "identify"}
    assert all(frames <= 4 for frames in result["frames"].values()), result["frames"]
    assert result["variant"] == ["blue"]
    # every gate the app's widgets follow is there, read without an exposure
    assert result["gates"] == {"g": False, "hidden_gate": True, "g2": True}
    exposures = [(e["user"].get("userID"), e["metadata"].get("gate") or e["metadata"].get("config"),
                  e["metadata"].get("gateValue"), e["metadata"]["reason"])
                 for e in result["events"] if e["eventName"].startswith("statsig::")]
    counts = collections.Counter(exposures)
    assert all(n == 1 for n in counts.values()), counts  # once per user, value and rule
    gates = [x for x in exposures if x[1] == "g"]
    # anonymous: served false, overridden true, (override removed: false again, already logged),
    # refreshed true; u1: true (a false with the reason Loading only if that frame showed it)
    assert [x for x in gates if x[3] != "Loading:Unrecognized"] == [
        (None, "g", "false", "Network:Recognized"), (None, "g", "true", "LocalOverride:Recognized"),
        (None, "g", "true", "Network:Recognized"), ("u1", "g", "true", "Network:Recognized")]
    assert [x[1] for x in exposures if x[1] != "g"].count("exp") in (2, 3)  # anonymous, u1 (and Loading)
    # never shown, or shown only while opted out: no exposure at all
    assert not [x for x in exposures if x[1] in ("hidden_gate", "g2")]
    assert len(result["events"]) == result["events_before_opt_out"]
