"""The same small UI (a label and a button that follow gate g) on this tree and, given its
path, on an older one: with StatsigFlags, KV rules and a FeatureGate where the package has
them, else the way the demo did it before (check_gate on entering the screen and again at
each values_updated handed to the main thread). Frames until the UI follows an override, a
refresh and an identify; the gate exposures counted at FakeStatsig (loopback); the cost of
a StatsigFlags update.

    python -m tests.benchmarks.kv_flags [OLD_TREE]   # e.g. a `git worktree add /tmp/old 951d28b`
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = r"""
import collections, json, sys, tempfile, time
from kivy.config import Config
Config.set("graphics", "width", "360"); Config.set("graphics", "height", "640")
from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.uix.screenmanager import NoTransition
import segment_statsig.kivy as sk
from segment_statsig import Analytics, StatsigDestination
from segment_statsig.testing import FakeStatsig
from demo_app.tourkit import Driver, Wait

NEW = hasattr(sk, "StatsigFlags")
KV_NEW = '''
ScreenManager:
    Screen:
        name: 'blank'
    Screen:
        name: 'main'
        BoxLayout:
            Label:
                id: rule
                text: 'on' if app.flags.gates['g'] else 'off'
            FeatureGate:
                gate: 'g'
                Button:
                    text: 'new'
    Screen:
        name: 'never'
        FeatureGate:
            gate: 'hidden_gate'
            Label:
                text: 'x'
'''
KV_OLD = '''
ScreenManager:
    Screen:
        name: 'blank'
    Screen:
        name: 'main'
        on_pre_enter: app.show()
        BoxLayout:
            Label:
                id: rule
                text: 'off'
    Screen:
        name: 'never'
        on_pre_enter: app.show_hidden()
'''
SERVED = {"g": {None: False, "u1": True}}
statsig = FakeStatsig(); statsig.start()
statsig.set_gate("g", lambda user: SERVED["g"][user.get("userID")])
statsig.set_gate("hidden_gate", True)


class M(App):
    def load_kv(self, filename=None):
        pass

    def build(self):
        self.analytics = Analytics(settings={"integrations": {"Statsig": {"apiKey": "client-m"}}},
                                   storage_dir=tempfile.mkdtemp(), flush_at=1000)
        self.dest = self.analytics.add(StatsigDestination(api_url=statsig.url))
        if NEW:
            self.flags = sk.StatsigFlags(self.dest, gates=["g"])
            return Builder.load_string(KV_NEW)
        root = Builder.load_string(KV_OLD)
        root.transition = NoTransition()
        self.dest.on("values_updated", sk.on_main_thread(lambda _e: self.show() if root.current == "main" else None))
        return root

    def show(self):  # the old way: check imperatively
        self.root.ids.rule.text = "on" if self.dest.check_gate("g") else "off"

    def show_hidden(self):
        self.dest.check_gate("hidden_gate")


class Steps(Driver):
    results = {}

    def follow(self, what, want, timeout=5, since=None):
        start, t0 = since or (Clock.frames, time.monotonic())

        def check():
            if self.app.root.ids.rule.text == want:
                self.results[what] = f"{Clock.frames - start} frames, {(time.monotonic() - t0) * 1000:.0f} ms"
                return True
            if time.monotonic() - t0 > timeout:
                self.results[what] = f"not within {timeout} s"
                return True
            return False
        return Wait(what, check, timeout + 5)

    def steps(self):
        app, dest = self.app, self.app.dest
        yield self._in_background("values", lambda: dest.wait_for_values(10), 12)
        app.root.current = "main"
        yield Wait("served", lambda: app.root.ids.rule.text == "off", 5)
        yield 3
        dest.override_gate("g", True)
        yield self.follow("override", "on")
        dest.remove_gate_override("g")
        if app.root.ids.rule.text != "off":  # (the old way: only re-entering the screen shows it)
            app.root.current = "blank"; yield 2; app.root.current = "main"
        yield Wait("back", lambda: app.root.ids.rule.text == "off", 5)
        SERVED["g"][None] = True
        dest.refresh_values()
        yield self.follow("refresh", "on")
        SERVED["g"][None] = False
        yield 3
        since = (Clock.frames, time.monotonic())
        app.analytics.identify("u1")  # (signed in on another screen, then back)
        app.root.current = "blank"; yield 2; app.root.current = "main"
        yield self.follow("identify (from the call)", "on", since=since)
        app.analytics.enabled = False
        dest.override_gate("g", False)
        yield self.follow("override while opted out", "off")
        yield 5  # (the widgets' frames, still opted out)
        app.analytics.enabled = True
        yield self._in_background("flush", lambda: app.analytics.flush(10), 12)
        exposures = [(e["user"].get("userID"), e["metadata"]["gate"], e["metadata"]["gateValue"],
                      e["metadata"]["reason"]) for e in statsig.events if e["eventName"] == "statsig::gate_exposure"]
        counts = collections.Counter(exposures)
        self.results.update({
            "gate exposures": len(exposures),
            "duplicated exposures": sum(n - 1 for n in counts.values()),
            "exposures for the never-shown widget": sum(1 for x in exposures if x[1] == "hidden_gate"),
            "exposures while opted out": sum(1 for x in exposures if x[3] == "LocalOverride:Recognized" and x[2] == "false"),
        })
        if NEW:
            t = time.perf_counter()
            for _ in range(200):
                app.flags.update()
            self.results["StatsigFlags.update() (1 gate)"] = f"{(time.perf_counter() - t) / 200 * 1e6:.0f} µs"
            for i in range(30):
                app.flags.follow("gates", f"gate_{i}")
            t = time.perf_counter()
            for _ in range(200):
                app.flags.update()
            self.results["StatsigFlags.update() (31 gates)"] = f"{(time.perf_counter() - t) / 200 * 1e6:.0f} µs"
        json.dump(self.results, open(sys.argv[1], "w"), ensure_ascii=False)


app = M()
steps = Steps(app, tempfile.mkdtemp(), watchdog=60)
ok = steps.run_app()
app.analytics.shutdown(5); statsig.stop()
if not ok:
    print("failed:", steps.error, file=sys.stderr); sys.exit(1)
"""


def run(tree):
    """The scenario's figures on `tree` (a checkout of this repository), in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1", "KIVY_NO_FILELOG": "1",
               "KIVY_NO_CONFIG": "1", "KIVY_HOME": os.path.join(tmp, "kivy"),
               "PYTHONPATH": os.pathsep.join([str(tree), os.path.join(tree, "plugin")])}
        proc = subprocess.run([sys.executable, "-c", SCENARIO, out], cwd=tree, env=env, capture_output=True,
                              text=True, timeout=120)
        if proc.returncode != 0:
            raise SystemExit(f"{tree}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
        return json.loads(Path(out).read_text())


def main(argv):
    trees = [Path(argv[0]).resolve(), ROOT] if argv else [ROOT]
    results = [run(tree) for tree in trees]
    cases = list(dict.fromkeys(k for r in results for k in r))
    print("| case | " + " | ".join(t.name for t in trees) + " |")
    print("|---|" + "---|" * len(trees))
    for case in cases:
        print(f"| {case} | " + " | ".join(str(r.get(case, "n/a")) for r in results) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
