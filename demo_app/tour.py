"""``python -m demo_app --tour OUT_DIR``: a scripted walk through every screen, tapping
the real buttons, with a PNG of each screen and the session saved as a recording in
the conformance harness's case format (replayable with
``python -m segment_statsig.testing verify OUT_DIR/demo_tour.json``). The finger, the
waits and the watchdog are in tourkit.py.
"""
from __future__ import annotations

import json
import os
import time

from kivy.logger import Logger

from .tour_flags import FlagsWalk
from .tour_privacy import PrivacyWalk
from .tourkit import Driver, TourError, Wait

PHONE = (360, 640)
DESKTOP = (1100, 720)
RECORDING = "demo_tour.json"


class Tour(FlagsWalk, PrivacyWalk, Driver):
    # --- what the screens show, from the widgets (tour.json, for the tests) -------------
    def checkout_state(self, name):
        checkout = self.screen("checkout")
        button, express = checkout.ids.place_order_button, checkout.ids.express_button
        self.states[name] = {
            "colour": checkout.button_colour, "fill": [round(c, 3) for c in button.fill],
            "express_shown": bool(express.get_root_window() and express.opacity > 0 and express.height > 0
                                  and not express.disabled),
            "button_centre": [round(v) for v in button.to_window(*button.center)],
            "window": list(self.app.root_window.size) if self.app.root_window else None}

    @staticmethod
    def window_rect(widget):
        (x0, y0), (x1, y1) = widget.to_window(widget.x, widget.y), widget.to_window(widget.right, widget.top)
        return [round(x0), round(y0), round(x1), round(y1)]

    def in_view(self, widget, scroller):
        """Is `widget` wholly inside `scroller`'s viewport (so neither cut nor under the tabs)?"""
        x0, y0, x1, y1 = self.window_rect(widget)
        v0, w0, v1, w1 = self.window_rect(scroller)
        return v0 <= x0 and w0 <= y0 and x1 <= v1 and y1 <= w1

    def clear_of_the_scroll_bar(self, widgets, scroller):
        bar_left = self.window_rect(scroller)[2] - scroller.bar_width
        return all(self.window_rect(w)[2] <= bar_left for w in widgets)

    def note(self, key, value):
        self.states[key] = value

    def message(self):
        return self.app.frame.message

    def badge(self):
        return self.tab("events").badge

    def log_rows(self):
        """The event log's row widgets on screen, top first."""
        view = self.screen("events").ids.log_view
        return sorted(view.layout_manager.children, key=lambda row: -row.y)

    @staticmethod
    def fits(text, label):
        """Would `text` fit in `label`'s width, in its font (so nothing is cut with "...")?"""
        from kivy.core.text import Label as CoreLabel

        core = CoreLabel(text=text, font_size=label.font_size, bold=label.bold, font_name=label.font_name)
        core.refresh()
        return core.texture.size[0] <= label.width

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
        home = self.screen("home")
        self.note("home", {"greeting": home.ids.greeting.text, "badge": self.badge(),
                           "log_rows": len(app.backend.event_log.rows()),
                           "delivery_card_in_view": self.in_view(home.ids.delivery_card, home.ids.scroller)})
        self.shot("01_home")
        yield from self.press_call(home.ids.login_button, "Login Button Clicked")
        self.note("home_message", self.message())
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
        self.note("checkout_texts", {"tax_label": checkout.tax_label, "value_note": checkout.value_note})
        yield from self.tap(checkout.ids.place_order_button, lambda: checkout.placed, "the order")
        yield 4
        self.note("keep_shopping_in_view", self.in_view(checkout.ids.keep_shopping_button, checkout.ids.scroller))
        self.note("confirmation", checkout.confirmation)
        self.shot("04_checkout")
        # "Keep shopping" is in view: tapped where it is, without scrolling
        yield from self.tap(checkout.ids.keep_shopping_button, lambda: app.screens.current == "catalog",
                            "Keep shopping", scroll=False)

        yield from self.go("profile", "profile")
        profile = self.screen("profile")
        switch = profile.ids.personas_switch
        # identify fetches the user's values: nothing else in flight, then wait for that fetch
        yield self.values_ready("delivery before identify")
        yield from self.press_call(profile.ids.identify_button, "identify")
        self.note("identify_message", self.message())
        yield self.values_ready("user-42's values")
        yield Wait("the Statsig user to show user-42", lambda: '"userID": "user-42"' in app.user_text, 5)
        yield 3
        self.shot("05_profile")
        yield from self.tap(switch, lambda: switch.active, "the Personas switch on")
        self.note("audience_message", self.message())
        yield self.values_ready("values with the audience trait")
        yield Wait("the Statsig user to show the audience",
                   lambda: '"order_completed_last_30days": true' in app.user_text, 5)
        yield 3
        self.shot("06_profile_audience")
        yield from self.tap(switch, lambda: not switch.active, "the Personas switch off")
        yield self.values_ready("values without the audience trait")

        # Signed in now: the same checkout shows Express checkout (gate) and user-42's colour.
        yield from self.go("shop", "catalog")
        yield from self.open_product("sku-1003")
        yield from self.buy()
        self.checkout_state("identified")
        yield 3
        self.shot("07_checkout_signed_in")
        yield from self.tap(checkout.ids.express_button, lambda: checkout.placed, "the express order")

        yield from self.go("settings", "settings")
        settings = self.screen("settings")
        self.note("flush_policies", settings.ids.policies_text.text)
        # The app's own flush policy, switched on (no order follows in the tour) and off again.
        orders = settings.ids.orders_switch
        yield from self.tap(orders, lambda: orders.active, "the SendOrdersAtOnce switch on")
        self.note("flush_policies_on", {"text": settings.ids.policies_text.text, "message": self.message(),
                                        "policy_on": self.app.backend.orders_policy.enabled})
        yield 3
        self.shot("08_settings_flush_policies")
        yield from self.tap(orders, lambda: not orders.active, "the SendOrdersAtOnce switch off")
        settings.ids.scroller.scroll_y = 0  # to the end: the lifecycle buttons and this device's anonymousId
        yield 2
        # on_pause: Application Backgrounded and a flush; on_resume: Application Opened (from_background true).
        yield from self.press_call(settings.ids.background_button, "on_pause")
        self.note("background_message", self.message())
        app.flush_now()
        yield self.delivered("delivery after Application Backgrounded")
        yield 3
        self.shot("08_settings")
        yield from self.press_call(settings.ids.foreground_button, "on_resume")
        self.note("foreground_message", self.message())
        yield from self.press_call(settings.ids.deep_link_button, "the deep link")
        self.note("deep_link_message", self.message())

        yield 2  # the log's refresh runs on the next frame
        self.note("badge_before_the_log", {"badge": self.badge(), "rows": len(app.backend.event_log.rows())})
        yield from self.go("events", "events")
        yield from self.flush("the first events delivered")
        yield self.log_shows("sent")
        yield 3
        self.note("badge_in_the_log", self.badge())
        view = self.screen("events").ids.log_view
        self.note("log_rows_clear_of_the_scroll_bar", self.clear_of_the_scroll_bar(self.log_rows(), view))
        self.shot("09_event_log")

        # A row opens to the whole event; the back button returns to the log.
        # (the newest first: the return's Opened, not the launch's)
        row = next(r for r in self.log_rows() if r.call_text.startswith("track  Application Opened"))
        yield from self.tap(row, lambda: app.screens.current == "event", "the event's detail", scroll=False)
        yield 3
        detail = self.screen("event")
        self.note("detail", {k: getattr(detail, k) for k in ("title", "segment", "statsig", "user", "history",
                                                              "state_text")})
        self.shot("10_event_detail")
        yield from self.tap(app.frame.ids.back_button, lambda: app.screens.current == "events", "back")

        # Offline: the stand-in answers 503; the batch stays in the queue for a retry.
        events = self.screen("events")
        yield from self.tap(events.ids.offline_button, lambda: fake.offline, "going offline")
        yield from self.go("home", "home")
        yield from self.press_call(home.ids.login_button, "Login Button Clicked")
        yield 2
        self.note("badge_after_the_log", self.badge())
        yield from self.go("events", "events")
        before = len(fake.event_requests)
        yield from self.tap(events.ids.flush_button, lambda: len(fake.event_requests) > before,
                            "a request while offline")
        yield self.log_shows("retrying")
        Logger.info("Tour: the stand-in answered 503, so the batch stays in the durable queue. The tour "
                    "runs the app in its deterministic mode (it sends only when flushed and a retry waits "
                    "up to an hour, so no timer sends mid-tour): hence the 'retry 1 in ...s' above. Going "
                    "online and flushing delivers the same batch now.")
        yield 3
        self.shot("11_event_log_offline")
        yield from self.tap(events.ids.offline_button, lambda: not fake.offline, "going online")
        yield from self.flush("delivery after going online")
        yield 3
        self.shot("12_event_log_online")
        title = self.log_rows()[0].ids.title  # every row's title has the same width and font
        self.note("exposure_rows", [
            {**{k: r[k] for k in ("call_text", "statsig_text", "state_text")},
             "title_fits": self.fits(r["call_text"], title)}
            for r in view.data if r["call_text"].startswith("exposure")])
        # scrolled down to the newest exposures: their rows, titles whole
        first = next(i for i, r in enumerate(view.data) if r["call_text"].startswith("exposure"))
        rows_height = view.children[0].height
        view.scroll_y = max(0.0, 1 - first * rows_height / len(view.data) / max(1, rows_height - view.height))
        yield 3
        shown = [r.call_text for r in self.log_rows() if r.call_text.startswith("exposure")]
        self.note("exposure_rows_on_screen", shown)
        self.shot("13_event_log_exposures")
        yield from self.privacy_steps()
        yield from self.flags_steps()

    def buy(self):
        """Buy now, after a recorded wait_for_values: the checkout's checks answer from
        known values and their exposures keep their place among the events (they are
        stored before the step goes on)."""
        yield self.values_ready("values before the checkout")
        yield from self.tap(self.screen("product").ids.buy_button,
                            lambda: self.app.screens.current == "checkout", "the checkout screen")
        gate = self.screen("checkout").ids.express_gate
        yield Wait("the express gate shown", lambda: gate.shown, 5)
        yield 2  # its check (and exposure) is made at the frame after it was shown
        yield self.exposures_stored()

    def desktop_steps(self):
        """The same app in a desktop-sized window (a second run: an offscreen window
        cannot be resized)."""
        yield 3
        yield from self.press_call(self.screen("home").ids.login_button, "login")
        yield 2
        self.shot("22_desktop_home")
        yield from self.go("shop", "catalog")
        yield 3
        self.shot("23_desktop_catalog")
        yield from self.go("events", "events")
        yield from self.flush("delivery")
        yield self.log_shows("sent")
        yield 3
        view = self.screen("events").ids.log_view
        self.note("log_rows_clear_of_the_scroll_bar", self.clear_of_the_scroll_bar(self.log_rows(), view))
        self.shot("24_desktop_event_log")
        if self.out_dir:
            with open(os.path.join(self.out_dir, "tour_desktop.json"), "w", encoding="utf-8") as f:
                json.dump(self.states, f, indent=2)

    # --- the recording ----------------------------------------------------------------
    def write_recording(self):
        from segment_statsig.testing.capabilities import shown_by
        from segment_statsig.testing.fake_statsig import EVENT_PATHS
        from segment_statsig.testing.recording import Normaliser, dumps_case, strings_in
        from segment_statsig.testing.runner import INITIALIZE_PATH, WINDOW_SLACK_MS

        from .backend import APP_INFO
        from .privacy import demo_settings

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
                           "segment_statsig.kivy, the seed's calls from real button presses, app lifecycle "
                           "(Opened from the background), a deep link, "
                           "the checkout's gate and experiment checks (exposures) before and after identify, "
                           "a batch refused while the stand-in was offline, then delivered, and the Privacy "
                           "screen: consent off (an event blocked) and on, an event dropped by a destination "
                           "filter, opt-out and back in, and an erase of what was undelivered.",
            "settings": demo_settings("<API_KEY>"),
            "statsig_values": self.statsig_values(),
            "options": {"analytics": {"track_lifecycle_events": True, "app_info": dict(APP_INFO)},
                        "consent": {"categories": dict(backend.initial_consent)}, "context": context},
        }
        if last_fault >= 0:
            case["server"] = {"statuses": statuses[: last_fault + 1]}
        case["calls"] = calls
        # what the session used that an implementation on a real SDK may lack (gates, consent,
        # filters, purge...): the harness skips the tour for an adapter without one
        case = {"name": case.pop("name"), "description": case.pop("description"), "requires": shown_by(case), **case}
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
                       "events": len(backend.fake.events), "states": self.states}, f, indent=2)

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
