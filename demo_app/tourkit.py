"""What the tour (and the app tests' scenarios) drive the app with: a finger that taps
through the window, bounded waits, screenshots, and the waits the harness does between
calls (deliver everything, wait for a user's values) done on helper threads.

The steps are a generator run one step per frame by the Kivy clock: a step yields a
condition (or a number of frames) to wait for; every wait is bounded and the whole
run has a watchdog, so a stuck app fails instead of hanging.
"""
from __future__ import annotations

import os
import sys
import threading
import time
import traceback

from kivy.clock import Clock


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


class Driver:
    """Runs `steps()` (a generator of waits) one step per frame, with a watchdog, and
    offers the steps a finger (tap), the camera (shot) and bounded waits."""

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
    def run_app(self):
        """Run the app with these steps from its first frame; True when they all ran.
        The standard streams are given back afterwards (Kivy's logger wraps them)."""
        self.app.bind(on_start=lambda *_: self.start())
        self.app.run()
        sys.stderr, sys.stdout = sys.__stderr__, sys.__stdout__
        return self.done and self.error is None

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
    def tap(self, widget, until, what, scroll=True):
        """Steps for a real tap: a touch down and up at the widget's centre, dispatched
        through the window like a finger's (a hidden or covered button is not hit);
        then wait until `until()`. With scroll=False the widget must already be in view."""
        yield 2  # let a screen that just appeared finish its layout
        scroller = self._scroll_view_of(widget) if scroll else None
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
        return self.app.frame.tabs[name]

    def screen(self, name):
        return self.app.screens.get_screen(name)

    def go(self, tab, screen_name):
        current = self.app.screens
        return self.tap(self.tab(tab), lambda: current.current == screen_name, f"the {screen_name} screen")

    def open_product(self, product_id):
        """From the catalog screen, tap the row of `product_id`; wait for its product screen."""
        rows = self.screen("catalog").ids.products
        yield Wait("product rows", lambda: len(rows.layout_manager.children) > 0, 5)
        yield 2
        row = next(r for r in rows.layout_manager.children if r.product_id == product_id)
        yield from self.tap(row, lambda: self.app.screens.current == "product", "the product screen")

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
        """Wait (without blocking the UI) until every call so far was delivered, on a
        helper thread, as a harness adapter's flush does (and without recording a call)."""
        return self._in_background(what, lambda: self.app.analytics.deliver(timeout), timeout + 2)

    def _in_background(self, what, work, timeout):
        result = []
        threading.Thread(target=lambda: result.append(work()), daemon=True).start()
        return Wait(what, lambda: bool(result) and (result[0] or self._fail(what)), timeout)

    def _fail(self, what):
        raise TourError(f"not delivered: {what}")

    def flush(self, what):
        """Tap "Flush now" on the event log and wait until everything was delivered."""
        yield from self.press_call(self.screen("events").ids.flush_button, "the flush")
        yield self.delivered(what)

    def values_ready(self, what, timeout=10.0):
        """A recorded wait_for_values (Backend.wait_for_values, on a helper thread, never
        the UI thread): deliver everything so far, then wait until the current user's gates
        and experiments are known. Before a check it pins what the check answers; after an
        identify, that user's fetch is done before the next call."""
        backend = self.app.backend
        return self._in_background(what, lambda: backend.wait_for_values(timeout), 2 * timeout + 2)

    def exposures_stored(self):
        """Wait (without blocking) until the exposures of the checks so far are in the queue."""
        destination = self.app.backend.destination
        return Wait("exposures in the queue", lambda: destination.flush_exposures(0), 5)


    def log_shows(self, state):
        view = self.screen("events").ids.log_view
        return Wait(f"the event log to show {state}", lambda: any(r["delivery"] == state for r in view.data), 5)
