"""RecordingAnalytics: forwards every call to Analytics and keeps it in the harness's
case format ({"method", "args"}), so a session can be saved as a recording."""
from __future__ import annotations

import threading


class RecordingAnalytics:
    def __init__(self, analytics):
        self._analytics = analytics
        self._lock = threading.Lock()
        self.calls = []

    def __getattr__(self, name):  # anonymous_id, user_id, traits, set_context, find, ...
        return getattr(self._analytics, name)

    def keep(self, method, **args):
        """Keep a call in the case's form; also for calls made elsewhere (the destination's
        check_gate, get_experiment, a harness-side wait_for_values)."""
        call = {"method": method}
        if args:
            call["args"] = {k: v for k, v in args.items() if v is not None}
        with self._lock:
            self.calls.append(call)

    def track(self, event, properties=None, **common):
        self._analytics.track(event, properties, **common)
        self.keep("track", event=event, properties=properties)

    def screen(self, title, category=None, properties=None, **common):
        self._analytics.screen(title, category, properties, **common)
        self.keep("screen", name=title, category=category, properties=properties or None)

    def page(self, name=None, category=None, properties=None, **common):
        self._analytics.page(name, category, properties, **common)
        self.keep("page", name=name, category=category, properties=properties or None)

    def identify(self, user_id=None, traits=None, **common):
        self._analytics.identify(user_id, traits, **common)
        self.keep("identify", userId=user_id, traits=traits)

    def open_url(self, url, referrer=None, properties=None):
        self._analytics.open_url(url, referrer, properties)
        self.keep("open_url", url=url, referrer=referrer, properties=properties)

    def reset(self):
        self._analytics.reset()
        self.keep("reset")

    def flush(self, timeout=None):
        result = self._analytics.flush(timeout)
        self.keep("flush")
        return result

    def on_background(self):
        self._analytics.on_background()
        self.keep("on_background")

    def on_foreground(self):
        self._analytics.on_foreground()
        self.keep("on_foreground")

    # privacy (the harness's set_enabled and purge calls; consent_changed is kept by Backend)
    @property
    def enabled(self):
        return self._analytics.enabled

    @enabled.setter
    def enabled(self, value):
        self._analytics.enabled = value
        self.keep("set_enabled", enabled=value)

    def purge(self, timeout=5.0):
        """Blocks until the timeline worker has erased: not on the UI thread."""
        self.keep("purge")
        return self._analytics.purge(timeout)

    def deliver(self, timeout):
        """Send everything and wait, without keeping a call: what the harness does inside
        a recorded call (wait_for_values) or between calls. Blocks: not on the UI thread."""
        return self._analytics.flush(timeout=timeout)

    # not calls of a case: the constructor's lifecycle start and the shutdown
    def on_start(self):
        self._analytics.on_start()

    def shutdown(self, timeout=5.0):
        return self._analytics.shutdown(timeout)
