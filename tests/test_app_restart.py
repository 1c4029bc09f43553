"""The demo app after a restart: the Personas switch shows the saved trait, the Statsig user
says it too, and Home says welcome back."""
import json
import textwrap

from segment_statsig.testing import FakeStatsig

from .app_runs import app_env, assert_looks_like_a_screen, run

RESTART = textwrap.dedent("""
    import json, os, sys
    from kivy.config import Config
    Config.set("graphics", "width", "360"); Config.set("graphics", "height", "640")
    from demo_app.app import StatsigDemoApp
    from demo_app.tourkit import Driver, Wait

    class Run(Driver):
        def steps(self):
            app = self.app
            profile = self.screen("profile")
            switch = profile.ids.personas_switch
            state = {"greeting": self.screen("home").ids.greeting.text}
            yield from self.go("profile", "profile")
            yield 3
            state["switch_on_arrival"] = switch.active
            state["traits"] = app.analytics.traits
            if sys.argv[3] == "first":
                yield from self.press_call(profile.ids.identify_button, "identify")
                yield from self.tap(switch, lambda: switch.active, "the Personas switch on")
            yield Wait("the Statsig user", lambda: '"userID": "user-42"' in app.user_text, 5)
            state["user_text"] = app.user_text
            profile.ids.scroller.scroll_y = 0  # the switch and the Statsig user in one picture
            yield 3
            self.shot("profile_" + sys.argv[3])
            with open(os.path.join(self.out_dir, sys.argv[3] + ".json"), "w") as f:
                json.dump(state, f)

    app = StatsigDemoApp(data_dir=sys.argv[2])
    run = Run(app, sys.argv[1], watchdog=40)
    if not run.run_app():
        print("scenario failed:", run.error, file=sys.stderr)
        sys.exit(1)
""")


def test_after_a_restart_the_personas_switch_shows_the_saved_trait_and_home_says_welcome_back(tmp_path):
    """First run: identify, switch the audience on, quit. Second run on the same data: the
    switch is on as the screen opens (the Statsig user says true too), and Home greets a
    returning user."""
    data_dir, out = tmp_path / "data", tmp_path / "out"
    with FakeStatsig() as statsig:
        env = app_env(tmp_path, SEGMENT_STATSIG_DEMO_KEY="client-restart-test",
                      SEGMENT_STATSIG_DEMO_API_URL=statsig.url)
        for run_name in ("first", "second"):
            run(["-c", RESTART, str(out), str(data_dir), run_name], env, timeout=90)
    first = json.loads((out / "first.json").read_text())
    second = json.loads((out / "second.json").read_text())
    assert first["greeting"] == "Welcome" and first["switch_on_arrival"] is False
    assert second["greeting"] == "Welcome back"
    assert second["traits"] == {"email": "ada@example.com", "order_completed_last_30days": True}
    assert second["switch_on_arrival"] is True
    assert '"order_completed_last_30days": true' in second["user_text"]
    assert_looks_like_a_screen(out / "profile_second.png", (360, 640))
