"""The tour's Flags part (a mixin of tour.Tour): Settings › Flags lists the user's Statsig
values; the gate's switch overrides it (reason LocalOverride:Recognized) and the checkout
preview, a KV rule over app.flags, follows it; Remove gives the served value back. Every tap is a real one (tourkit.Driver.tap), every wait bounded; it ends
with a flush, so the recording holds every call it made.
"""
from __future__ import annotations

import json

from .backend import GATE
from .tourkit import Wait


class FlagsWalk:
    def flag_row(self, name):
        return next(r for r in self.screen("flags").ids.rows.children if r.name == name)

    def flags_steps(self):
        app = self.app
        yield from self.go("settings", "settings")
        settings = self.screen("settings")
        settings.ids.scroller.scroll_y = 1
        yield 2
        yield from self.tap(settings.ids.flags_button, lambda: app.screens.current == "flags", "the flags screen")
        flags = self.screen("flags")
        yield Wait("the flag rows", lambda: len(flags.ids.rows.children) >= 4, 5)
        yield 3
        self.note("flags", [{"kind": r.kind, "name": r.name, "value": json.loads(r.value_text), "reason": r.reason}
                            for r in reversed(flags.ids.rows.children)])
        self.shot("20_flags")
        served = self.flag_row(GATE).passes
        preview = flags.ids.express_preview
        self.note("flags_preview", {"shown": preview.opacity > 0, "message": self.message()})
        yield from self.tap(self.flag_row(GATE).ids.gate_switch, lambda: self.flag_row(GATE).overridden,
                            "the gate override")
        flags.ids.scroller.scroll_y = 1
        yield 3
        row = self.flag_row(GATE)
        self.note("flags_override", {"served": served, "value": row.passes, "reason": row.reason,
                                     "message": self.message(), "preview_shown": preview.opacity > 0})
        self.shot("21_flags_override")
        yield from self.tap(self.flag_row(GATE).ids.remove_button, lambda: not self.flag_row(GATE).overridden,
                            "the override removed")
        self.note("flags_removed", {"value": self.flag_row(GATE).passes, "reason": self.flag_row(GATE).reason})
        yield from self.go("events", "events")
        yield from self.flush("delivery after the flags")
