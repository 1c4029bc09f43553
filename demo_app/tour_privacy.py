"""The tour's Privacy part (a mixin of tour.Tour): consent off and on, an event blocked
by consent and one dropped by the destination filter in the event log, opt-out and back
in, then erase. Every tap is a real one (tourkit.Driver.tap), every wait bounded.
"""
from __future__ import annotations

from .tourkit import Wait


class PrivacyWalk:
    def privacy_row(self, category):
        return next(r for r in self.screen("privacy").ids.consent_rows.children if r.category == category)

    def log_row(self, state):
        """The newest event-log row (its data) in `state`, or None."""
        return next((r for r in self.app.backend.event_log.rows() if r["delivery"] == state), None)

    def scroll_log_to(self, index):
        """Scroll the event log so its row `index` (0: the newest) is at the top."""
        view = self.screen("events").ids.log_view
        rows_height = view.children[0].height
        view.scroll_y = max(0.0, min(1.0, 1 - index * rows_height / len(view.data)
                                     / max(1, rows_height - view.height)))

    @staticmethod
    def scroll_to_top_of(scroller, widget, margin=8):
        """Scroll `scroller` so `widget`'s top is at the top of its viewport."""
        top = scroller.parent.to_widget(*widget.to_window(widget.x, widget.top))[1]
        _, dsy = scroller.convert_distance_to_scroll(0, scroller.top - margin - top)
        scroller.scroll_y = min(1, max(0, scroller.scroll_y - dsy))

    def privacy_steps(self):
        app = self.app
        log = app.backend.event_log
        yield from self.go("settings", "settings")
        settings = self.screen("settings")
        settings.ids.scroller.scroll_y = 1
        yield 2
        yield from self.tap(settings.ids.privacy_button, lambda: app.screens.current == "privacy",
                            "the privacy screen")
        privacy = self.screen("privacy")
        yield 3
        self.note("privacy", {"statsig_needs": privacy.statsig_needs,
                              "switches": {r.category: r.ids.switch.active
                                           for r in privacy.ids.consent_rows.children},
                              "collecting": privacy.ids.collect_switch.active, "rule": privacy.rule_text})
        self.shot("14_privacy")

        # Consent off: an event the consent blocker keeps from Statsig.
        analytics = self.privacy_row("analytics").ids.switch
        yield from self.press_call(analytics, "analytics consent off")
        self.note("consent_off_message", self.message())
        yield from self.press_call(privacy.ids.test_event_button, "a Test Event without consent")
        self.note("blocked_message", self.message())
        yield Wait("a blocked row", lambda: self.log_row("blocked") is not None, 5)
        yield 3
        self.shot("15_privacy_consent_off")
        # Consent on again, then an event the destination filter drops.
        yield from self.press_call(analytics, "analytics consent on")
        self.note("consent_on_message", self.message())
        yield from self.press_call(privacy.ids.debug_event_button, "an Internal Debug event")
        self.note("filtered_message", self.message())
        yield Wait("a filtered row", lambda: self.log_row("filtered") is not None, 5)

        yield from self.go("events", "events")
        yield from self.flush("the consent events delivered")
        yield 2
        rows = self.screen("events").ids.log_view.data
        self.note("privacy_rows", [{k: r[k] for k in ("call_text", "statsig_text", "metadata_text", "user_text",
                                                       "state_text")} for r in rows[:5]])
        self.scroll_log_to(next(i for i, r in enumerate(rows) if r["delivery"] == "filtered"))
        yield 3
        view = self.screen("events").ids.log_view
        self.note("privacy_rows_on_screen", [r.state_text for r in self.log_rows() if self.in_view(r, view)])
        self.shot("16_event_log_blocked_filtered")

        # Opt out: a call writes nothing, so the log gets no row; then back in.
        yield from self.go("settings", "settings")
        yield from self.tap(settings.ids.privacy_button, lambda: app.screens.current == "privacy",
                            "the privacy screen again")
        yield from self.press_call(privacy.ids.test_event_button, "a Test Event with consent")
        self.note("allowed_message", self.message())
        collect = privacy.ids.collect_switch
        # "Try it" at the top, the Collection card below it: the buttons and the switch in one picture
        self.scroll_to_top_of(privacy.ids.scroller, privacy.ids.try_card)
        yield 2
        yield from self.press_call(collect, "opting out")
        self.note("opt_out_message", self.message())
        before = len(log.rows())
        yield from self.press_call(privacy.ids.test_event_button, "a Test Event while opted out")
        yield 3
        self.note("opted_out", {"message": self.message(), "rows_before": before, "rows_after": len(log.rows()),
                                "collecting": app.collecting, "switch": collect.active})
        self.shot("17_privacy_opted_out")
        yield from self.press_call(collect, "opting back in")
        self.note("opt_in_message", self.message())
        yield from self.go("events", "events")
        yield from self.flush("the Test Event made with consent delivered")
        self.note("allowed_row", next(r["state_text"] for r in log.rows() if r["call_text"] == "track  Test Event"))

        # Erase what waits (the screen calls since, and one more Test Event).
        yield from self.go("settings", "settings")
        yield from self.tap(settings.ids.privacy_button, lambda: app.screens.current == "privacy",
                            "the privacy screen, to erase")
        yield from self.press_call(privacy.ids.test_event_button, "a Test Event to erase")
        yield Wait("the Test Event in the queue", lambda: log.rows()[0]["state_text"] == "queued", 5)
        # purge() runs on a helper thread; the screen reports back on the UI thread.
        waiting = app.backend.queue_depth()
        yield from self.press_call(privacy.ids.erase_button, "erase")
        yield Wait("the erase to finish", lambda: not privacy.erasing and "purge()" in self.message(), 15)
        yield 3
        self.note("erased", {"waiting_before": waiting, "queue_after": app.backend.queue_depth(),
                             "message": self.message()})
        self.shot("18_privacy_erased")
        yield from self.go("events", "events")
        yield from self.flush("delivery after the erase")
        self.screen("events").ids.log_view.scroll_y = 1  # the newest rows (it was scrolled for 16)
        yield 3
        rows = self.screen("events").ids.log_view.data
        self.note("erase_rows", [{k: r[k] for k in ("call_text", "statsig_text", "state_text")} for r in rows[:4]])
        self.shot("19_event_log_erased")
