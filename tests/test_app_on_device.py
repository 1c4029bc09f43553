"""The demo's on-device switch: with on_device_evaluation.txt saying "on" (the settings
screen's switch writes it), the demo's destination evaluates the stand-in's config specs on
the device: the gate and the experiment answer every user with no initialize request, and
the checkout's note says where the values came from."""
import json
import textwrap

from demo_app.backend import EXPERIMENT, GATE, GROUPS, Backend, read_on_device, save_on_device

from .app_runs import app_env, assert_looks_like_a_screen, run


def test_the_switch_is_saved_for_the_next_start(tmp_path):
    assert read_on_device(str(tmp_path)) is False
    save_on_device(str(tmp_path), True)
    assert read_on_device(str(tmp_path)) is True
    save_on_device(str(tmp_path), False)
    assert read_on_device(str(tmp_path)) is False


def test_on_device_the_stand_in_s_gate_and_experiment_need_no_initialize(tmp_path, monkeypatch):
    monkeypatch.delenv("SEGMENT_STATSIG_DEMO_KEY", raising=False)
    save_on_device(str(tmp_path), True)
    backend = Backend(str(tmp_path))
    try:
        assert backend.destination.on_device_evaluation and backend.fake is not None
        backend.prefetch_values()
        assert backend.destination.wait_for_values(10) and backend.values_source == "Network"
        groups = set()
        for user_id in [f"shopper-{i}" for i in range(40)]:
            backend.analytics.identify(user_id)
            assert backend.check_gate(GATE) is True
            colour, group = backend.experiment_value(EXPERIMENT, "colour", "none")
            assert (group, {"colour": colour}) in GROUPS
            groups.add(group)
        backend.analytics.reset()
        assert backend.check_gate(GATE) is False
        assert backend.experiment_value(EXPERIMENT, "colour", "none") == ("none", None)
        assert groups == {name for name, _ in GROUPS}
        assert backend.fake.initialize_requests == [] and len(backend.fake.config_specs_requests) == 1
    finally:
        backend.analytics.shutdown(timeout=2)
        backend.stop()


def test_off_the_values_come_from_initialize(tmp_path, monkeypatch):
    monkeypatch.delenv("SEGMENT_STATSIG_DEMO_KEY", raising=False)
    backend = Backend(str(tmp_path))
    try:
        assert backend.destination.on_device_evaluation is False
        backend.analytics.identify("shopper-1")
        assert backend.destination.wait_for_values(10) and backend.check_gate(GATE) is True
        assert backend.fake.config_specs_requests == [] and backend.fake.initialize_requests
    finally:
        backend.analytics.shutdown(timeout=2)
        backend.stop()


SCENARIO = textwrap.dedent("""
    import json, os, sys
    from kivy.config import Config
    Config.set("graphics", "width", "360"); Config.set("graphics", "height", "640")
    from demo_app.app import StatsigDemoApp
    from demo_app.tourkit import Driver

    class Tour(Driver):
        def steps(self):
            app = self.app
            yield 3
            app.backend.analytics.identify("shopper-7")  # as the profile screen's sign-in does
            yield from self.go("shop", "catalog")
            yield from self.open_product("sku-1004")
            yield from self.tap(self.screen("product").ids.buy_button,
                                lambda: app.screens.current == "checkout", "checkout")
            yield 2  # the note's KV rule reads app.flags, updated at the frame after the identify
            note = self.screen("checkout").ids.values_note.text
            yield from self.tap(self.tab("settings"), lambda: app.screens.current == "settings", "settings")
            settings = self.screen("settings")
            before = settings.evaluation_note
            yield from self.tap(settings.ids.initialize_button, lambda: "Next start" in settings.evaluation_note,
                                "the switch")
            yield 3  # frames for the note's label to lay out
            self.shot("settings_on_device")
            with open(os.path.join(self.out_dir, "state.json"), "w") as f:
                json.dump({"checkout": note, "before": before, "after": settings.evaluation_note,
                           "initialize": len(app.backend.fake.initialize_requests),
                           "specs": len(app.backend.fake.config_specs_requests),
                           "label": [settings.ids.evaluation_note.text, settings.ids.evaluation_note.height]}, f)
            yield self.delivered("everything before the stop")

    app = StatsigDemoApp(data_dir=sys.argv[2])
    tour = Tour(app, sys.argv[1], watchdog=40)
    if not tour.run_app():
        print("scenario failed:", tour.error, file=sys.stderr)
        sys.exit(1)
""")


def test_the_settings_switch_and_the_checkout_s_note(tmp_path):
    data_dir = tmp_path / "data"
    save_on_device(str(data_dir), True)
    out = tmp_path / "out"
    run(["-c", SCENARIO, str(out), str(data_dir)], app_env(tmp_path), timeout=90)
    state = json.loads((out / "state.json").read_text())
    assert "gate express_checkout is on" in state["checkout"], state
    assert state["checkout"].endswith("Values: Network, evaluated on the device."), state
    assert state["label"][0] == state["after"] and state["label"][1] > 0
    assert state["before"] == "Now: on the device (values: Network).", state
    assert state["after"] == "Now: on the device (values: Network). Next start: initialize.", state
    assert (state["initialize"], state["specs"]) == (0, 1)
    assert read_on_device(str(data_dir)) is False
    assert_looks_like_a_screen(out / "settings_on_device.png", (360, 640))
