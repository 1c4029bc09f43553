"""``python -m demo_app --tour OUT_DIR``: a scripted walk through every screen, tapping
the real buttons, with a PNG of each screen and the session saved as a recording in
the conformance harness's case format (replayable with
``python -m segment_statsig.testing verify OUT_DIR/demo_tour.json``).

The steps are a generator run one step per frame by the Kivy clock: a step yields a
condition (or a number of frames) to wait for; every wait is bounded and the whole
tour has a watchdog, so a stuck app fails instead of hanging.
"""
from __future__ import annotations

import json
import os
import threading
import time
import traceback

from kivy.clock import Clock

PHONE = (360, 640)
DESKTOP = (1100, 720)
RECORDING = "demo_tour.json"


class Tap:
    """A finger: one touch, posted to the event loop as the OS's input providers do."""

    def __init__(self, x, y):
        from kivy.base import EventLoop
        from kivy.input.motionevent import MotionEvent

        class _Touch(MotionEvent):
            def depack(self, args):
                self.sx, self.sy = args
                super().depack(args)

        self.loop = EventLoop
        win = EventLoop.window
        self.event = _Touch("tour", 1, (x / (win.width - 1.0), y / (win.height - 1.0)),
                            is_touch=True, type_id="touch")
        self.event.profile = ["pos"]

    def down(self):
        self.loop.post_dispatch_input("begin", self.event)

    def up(self):
        self.loop.post_dispatch_input("end", self.event)


class TourError(RuntimeError):
    pass


class Wait:
    def __init__(self, what, condition, timeout=10.0):
        self.what = what
        self.condition = condition
        self.deadline = time.monotonic() + timeout


class Tour:
    def __init__(self, app, out_dir, watchdog=90.0, desktop=False):
        self.app = app
        self.out_dir = os.path.abspath(out_dir)
        self.watchdog = watchdog
        self.desktop = desktop
        self.screenshots = []
        self.states = {}
        self.error = None
        self.done = False
        self._steps = None
        self._wait = None
        self._frames = 0
        self._started = None

    # --- driving ----------------------------------------------------------------------
    def start(self):
        os.makedirs(self.out_dir, exist_ok=True)
        self._steps = self.steps()
        self._started = time.monotonic()
        Clock.schedule_interval(self._tick, 0)

    def _tick(self, _dt):
        try:
            if time.monotonic() - self._started > self.watchdog:
                raise TourError(f"watchdog: the tour took more than {self.watchdog:.0f}s")
            if self._frames > 0:
                self._frames -= 1
                return
            if self._wait is not None:
                if self._wait.condition():
                    self._wait = None
                elif time.monotonic() > self._wait.deadline:
                    raise TourError(f"timed out waiting for {self._wait.what}")
                else:
                    return
            step = next(self._steps)
            if isinstance(step, int):
                self._frames = step
            elif isinstance(step, Wait):
                self._wait = step
        except StopIteration:
            self.done = True
            self._finish()
        except Exception as error:
            self.error = error if isinstance(error, TourError) else TourError(traceback.format_exc())
            self._finish()

    def _finish(self):
        Clock.unschedule(self._tick)
        self.app.stop()

    # --- helpers ----------------------------------------------------------------------
    def tap(self, widget, until, what):
        """Steps for a real tap: a touch down and up at the widget's centre, dispatched
        through the window like a finger's (a hidden or covered button is not hit);
        then wait until `until()`."""
        yield 2  # let a screen that just appeared finish its layout
        scroller = self._scroll_view_of(widget)
        if scroller is not None:  # scroll it into view first, as a person would
            self._scroll_into_view(scroller, widget)
            yield 2
        x, y = widget.to_window(*widget.center)
        touch = Tap(x, y)
        touch.down()
        yield 1
        touch.up()
        yield Wait(what, until, 5)

    @staticmethod
    def _scroll_view_of(widget):
        from kivy.uix.scrollview import ScrollView

        parent = widget.parent
        while parent is not None and parent is not parent.parent:
            if isinstance(parent, ScrollView):
                return parent
            parent = parent.parent
        return None

    @staticmethod
    def _scroll_into_view(scroller, widget, margin=40):
        # ScrollView.scroll_to, without its Kivy 2.3.1 pending-layout check that fails here
        bottom = scroller.parent.to_widget(*widget.to_window(widget.x, widget.y))[1]
        top = scroller.parent.to_widget(*widget.to_window(widget.x, widget.top))[1]
        dy = 0
        if bottom < scroller.y:
            dy = scroller.y - bottom + margin
        elif top > scroller.top:
            dy = scroller.top - top - margin
        if dy:
            _, dsy = scroller.convert_distance_to_scroll(0, dy)
            scroller.scroll_y = min(1, max(0, scroller.scroll_y - dsy))

    def calls_after(self, n):
        calls = self.app.analytics.calls
        return lambda: len(calls) > n

    def tab(self, name):
        return self.app.root.ids["tab_" + name]

    def screen(self, name):
        return self.app.screens.get_screen(name)

    def go(self, tab, screen_name):
        current = self.app.screens
        return self.tap(self.tab(tab), lambda: current.current == screen_name, f"the {screen_name} screen")

    def press_call(self, widget, what):
        """Tap a button that makes one analytics call; wait for the call."""
        return self.tap(widget, self.calls_after(len(self.app.analytics.calls)), what)

    def shot(self, name):
        """Save the window as OUT_DIR/<name>.png."""
        from kivy.core.window import Window

        final = os.path.join(self.out_dir, name + ".png")
        made = Window.screenshot(name=final)  # Kivy numbers the file: rename it
        os.replace(made, final)
        self.screenshots.append(final)

    def delivered(self, what, timeout=10.0):
        """Wait (without blocking the UI) until every call so far was delivered: the
        core's flush(timeout) runs on a helper thread, as a harness adapter's flush does."""
        core = self.app.analytics._analytics
        result = []
        thread = threading.Thread(target=lambda: result.append(core.flush(timeout=timeout)), daemon=True)
        thread.start()
        return Wait(what, lambda: bool(result) and (result[0] or self._fail(what)), timeout + 2)

    def _fail(self, what):
        raise TourError(f"not delivered: {what}")

    def flush(self, what):
        """Tap "Flush now" on the event log and wait until everything was delivered."""
        yield from self.press_call(self.screen("events").ids.flush_button, "the flush")
        yield self.delivered(what)

    def values_ready(self, what, timeout=10.0):
        """A recorded wait_for_values, done as the harness's adapter does it (on a helper
        thread, never the UI thread): deliver everything so far, then wait until the
        current user's gates and experiments are known. Before a check it pins what the
        check answers; after an identify, that user's fetch is done before the next call."""
        app = self.app
        core, destination = app.analytics._analytics, app.backend.destination
        app.analytics.keep("wait_for_values")
        result = []
        thread = threading.Thread(target=lambda: result.append(
            core.flush(timeout=timeout) and destination.wait_for_values(timeout)), daemon=True)
        thread.start()
        return Wait(what, lambda: bool(result) and (result[0] or self._fail(what)), 2 * timeout + 2)

    def exposures_stored(self):
        """Wait (without blocking) until the exposures of the checks so far are in the queue."""
        destination = self.app.backend.destination
        return Wait("exposures in the queue", lambda: destination.flush_exposures(0), 5)

    def checkout_state(self, name):
        """What the Checkout screen shows, from the widgets (for the tests)."""
        checkout = self.screen("checkout")
        button, express = checkout.ids.place_order_button, checkout.ids.express_button
        self.states[name] = {
            "colour": checkout.button_colour, "fill": [round(c, 3) for c in button.fill],
            "express_shown": bool(express.opacity > 0 and express.height > 0 and not express.disabled),
            "button_centre": [round(v) for v in button.to_window(*button.center)],
            "window": list(self.app.root_window.size) if self.app.root_window else None}

    def log_shows(self, state):
        view = self.screen("events").ids.log_view
        return Wait(f"the event log to show {state}", lambda: any(r["state"] == state for r in view.data), 5)

    # --- the walk ---------------------------------------------------------------------
    def steps(self):
        if self.app.backend.fake is None:
            raise TourError("the tour runs against the local stand-in: unset SEGMENT_STATSIG_DEMO_KEY")
        if self.desktop:
            yield from self.desktop_steps()
        else:
            yield from self.phone_steps()
            self.write_recording()

    def phone_steps(self):
        app = self.app
        fake = app.backend.fake
        # The first values fetch (the app prefetches at start when not in the tour).
        yield self.values_ready("the anonymous user's values")
        yield 3
        self.shot("01_home")
        home = self.screen("home")
        yield from self.press_call(home.ids.login_button, "Login Button Clicked")
        yield from self.press_call(home.ids.page_button, "the page view")

        yield from self.go("shop", "catalog")
        rows = self.screen("catalog").ids.products
        yield Wait("product rows", lambda: len(rows.layout_manager.children) > 0, 5)
        yield 2
        self.shot("02_catalog")
        yield from self.open_product("sku-1001")
        yield 3
        self.shot("03_product")
        checkout = self.screen("checkout")
        yield from self.buy()
        self.checkout_state("anonymous")
        yield from self.tap(checkout.ids.place_order_button, lambda: checkout.placed, "the order")
        yield 3
        self.shot("04_checkout")

        yield from self.go("profile", "profile")
        profile = self.screen("profile")
        switch = profile.ids.personas_switch
        # identify fetches the user's values: nothing else in flight, then wait for that fetch
        yield self.values_ready("delivery before identify")
        yield from self.press_call(profile.ids.identify_button, "identify")
        yield self.values_ready("user-42's values")
        yield from self.tap(switch, lambda: switch.active, "the Personas switch on")
        yield self.values_ready("values with the audience trait")
        yield Wait("the Statsig user to show the audience",
                   lambda: '"order_completed_last_30days": true' in app.user_text, 5)
        yield 3
        self.shot("05_profile")
        yield from self.tap(switch, lambda: not switch.active, "the Personas switch off")
        yield self.values_ready("values without the audience trait")

        # Signed in now: the same checkout shows Express checkout (gate) and user-42's colour.
        yield from self.go("shop", "catalog")
        yield from self.open_product("sku-1003")
        yield from self.buy()
        self.checkout_state("identified")
        yield 3
        self.shot("06_checkout_signed_in")
        yield from self.tap(checkout.ids.express_button, lambda: checkout.placed, "the express order")

        yield from self.go("settings", "settings")
        yield 3
        self.shot("07_settings")
        settings = self.screen("settings")
        # on_pause: Application Backgrounded and a flush; on_resume: Application Foregrounded.
        yield from self.press_call(settings.ids.background_button, "on_pause")
        app.flush_now()
        yield self.delivered("delivery after Application Backgrounded")
        yield from self.press_call(settings.ids.foreground_button, "on_resume")

        yield from self.go("events", "events")
        yield from self.flush("the first events delivered")
        yield self.log_shows("sent")
        yield 3
        self.shot("08_event_log")

        # Offline: the stand-in answers 503; the batch stays in the queue for a retry.
        events = self.screen("events")
        yield from self.tap(events.ids.offline_button, lambda: fake.offline, "going offline")
        yield from self.go("home", "home")
        yield from self.press_call(home.ids.login_button, "Login Button Clicked")
        yield from self.go("events", "events")
        before = len(fake.event_requests)
        yield from self.tap(events.ids.flush_button, lambda: len(fake.event_requests) > before,
                            "a request while offline")
        yield self.log_shows("retrying")
        yield 3
        self.shot("09_event_log_offline")
        yield from self.tap(events.ids.offline_button, lambda: not fake.offline, "going online")
        yield from self.flush("delivery after going online")
        yield 3
        self.shot("10_event_log_online")
        view = events.ids.log_view
        self.states["exposure_rows"] = [
            {k: r[k] for k in ("call_text", "statsig_text", "state_text")} for r in view.data
            if r["call_text"].startswith("exposure")]

    def open_product(self, product_id):
        rows = self.screen("catalog").ids.products
        yield Wait("product rows", lambda: len(rows.layout_manager.children) > 0, 5)
        yield 2
        row = next(r for r in rows.layout_manager.children if r.product_id == product_id)
        yield from self.tap(row, lambda: self.app.screens.current == "product", "the product screen")

    def buy(self):
        """Buy now, after a recorded wait_for_values: the checkout's checks answer from
        known values and their exposures keep their place among the events (they are
        stored before the step goes on)."""
        yield self.values_ready("values before the checkout")
        yield from self.tap(self.screen("product").ids.buy_button,
                            lambda: self.app.screens.current == "checkout", "the checkout screen")
        yield self.exposures_stored()

    def desktop_steps(self):
        """The same app in a desktop-sized window (a second run: an offscreen window
        cannot be resized)."""
        yield 3
        yield from self.press_call(self.screen("home").ids.login_button, "login")
        yield 2
        self.shot("11_desktop_home")
        yield from self.go("shop", "catalog")
        yield 3
        self.shot("12_desktop_catalog")
        yield from self.go("events", "events")
        yield from self.flush("delivery")
        yield self.log_shows("sent")
        yield 3
        self.shot("13_desktop_event_log")

    # --- the recording ----------------------------------------------------------------
    def write_recording(self):
        from segment_statsig.testing.fake_statsig import EVENT_PATHS
        from segment_statsig.testing.recording import Normaliser, dumps_case, strings_in
        from segment_statsig.testing.runner import INITIALIZE_PATH, WINDOW_SLACK_MS

        from .backend import APP_INFO

        backend = self.app.backend
        calls = list(self.app.analytics.calls)
        records = [r for r in backend.fake.requests if r.path in EVENT_PATHS or r.path == INITIALIZE_PATH]
        # The harness replays the stand-in's answers to events as a status sequence:
        # 2xx = process normally (initialize requests are always answered).
        statuses = [r.status for r in records if r.path in EVENT_PATHS]
        last_fault = max((i for i, s in enumerate(statuses) if not 200 <= (s or 0) < 300), default=-1)
        context = {k: v for k, v in self.app.analytics.context.overrides.items()}
        case = {
            "name": "demo_app_tour",
            "description": "The demo app's scripted tour (python -m demo_app --tour): screens tracked by "
                           "segment_statsig.kivy, the seed's calls from real button presses, app lifecycle, "
                           "the checkout's gate and experiment checks (exposures) before and after identify, "
                           "and a batch refused while the stand-in was offline, then delivered.",
            "settings": {"integrations": {"Statsig": {"apiKey": "<API_KEY>"}}},
            "statsig_values": self.statsig_values(),
            "options": {"analytics": {"track_lifecycle_events": True, "app_info": dict(APP_INFO)},
                        "context": context},
        }
        if last_fault >= 0:
            case["server"] = {"statuses": statuses[: last_fault + 1]}
        case["calls"] = calls
        started = int(self.app.started_at * 1000)
        normaliser = Normaliser({backend.api_key: "<API_KEY>"},
                                (started - WINDOW_SLACK_MS, int(time.time() * 1000) + WINDOW_SLACK_MS),
                                strings_in([case["calls"], case["settings"]]))
        case["expected"] = {"requests": [normaliser.request(r) for r in records]}
        path = os.path.join(self.out_dir, RECORDING)
        with open(path, "w", encoding="utf-8") as f:
            f.write(dumps_case(case, [backend.api_key]))
        with open(os.path.join(self.out_dir, "tour.json"), "w", encoding="utf-8") as f:
            json.dump({"screenshots": [os.path.basename(p) for p in self.screenshots],
                       "recording": RECORDING, "requests": len(records),
                       "events": len(backend.fake.events), "checkout": self.states}, f, indent=2)

    def statsig_values(self):
        """The stand-in's gate and experiment, in the harness's per-userID form, for
        every userID of the session (what the stand-in served is a function of it)."""
        from .backend import EXPERIMENT, GATE, experiment_group, gate_value

        ids = sorted({c["args"]["userId"] for c in self.app.analytics.calls
                      if c["method"] == "identify" and (c.get("args") or {}).get("userId")})

        def experiment(user_id):
            group, value = experiment_group(user_id)
            return None if group is None else {"group": group, "value": value}

        return {"gates": {GATE: {"users": {u: gate_value(u) for u in ids}, "default": gate_value(None)}},
                "experiments": {EXPERIMENT: {"users": {u: experiment(u) for u in ids},
                                             "default": experiment(None)}}}
