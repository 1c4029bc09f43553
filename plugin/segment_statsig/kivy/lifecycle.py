"""App lifecycle -> Segment's mobile lifecycle events, by binding to a Kivy App's events.

    on_start  -> analytics.on_start()       Application Installed / Updated, Opened (once)
    on_pause  -> analytics.on_background()  Application Backgrounded; flushes and syncs the journal
    on_resume -> analytics.on_foreground()  Application Opened (from_background true)
    on_stop   -> analytics.shutdown(0.25)   once, however often Kivy dispatches on_stop

The lifecycle events themselves need ``Analytics(track_lifecycle_events=True)``; without
it the flush on pause and the shutdown on stop still happen. The handlers return
None, so the app's own on_pause (True by default: the app may pause) still decides.

on_stop runs on Kivy's main thread, where Android counts 5 s to "not responding": every
call is durable in the journal from its return, so the stop does not wait for Statsig.
It blocks for ``shutdown_timeout`` at most (0.25 s by default: a server that answers at
once takes the last batch in that time); what is not sent by then goes out at the next start. Android often
ends an app without on_stop at all: on_pause is where the journal is synced.

The binding is to Kivy's events, so an app (or a test) triggers it with
``app.dispatch("on_pause")``; calling ``app.on_pause()`` runs the app's method only.
"""
from __future__ import annotations

import logging

TYPE_CHECKING = False  # mypy reads the block below; at run time typing stays unloaded
if TYPE_CHECKING:
    from typing import Any, List, Protocol, Tuple

    class LifecycleAnalytics(Protocol):  # an Analytics, or anything with these four
        def on_start(self) -> None: ...
        def on_background(self) -> None: ...
        def on_foreground(self) -> None: ...
        def shutdown(self, timeout: float = ...) -> object: ...

log = logging.getLogger("segment_statsig")

#: how long on_stop may block the UI thread, in seconds (a server that answers at once
#: takes the last batch in that time; anything left stays on disk for the next start)
STOP_TIMEOUT = 0.25

_EVENTS = ("on_start", "on_pause", "on_resume", "on_stop")


class LifecycleBinding:
    def __init__(self, app: Any, analytics: LifecycleAnalytics, shutdown_timeout: float = STOP_TIMEOUT) -> None:
        self.app = app
        self.analytics = analytics
        self.shutdown_timeout = shutdown_timeout
        self.stopped = False
        self._uids: List[Tuple[str, int]] = [(name, app.fbind(name, getattr(self, "_" + name))) for name in _EVENTS]

    def _call(self, what: str, *args: Any) -> None:
        try:
            getattr(self.analytics, what)(*args)
        except Exception:  # analytics must never take the app down
            log.exception("lifecycle: analytics.%s() failed", what)

    def _on_start(self, *_: Any) -> None:
        self._call("on_start")

    def _on_pause(self, *_: Any) -> None:
        self._call("on_background")

    def _on_resume(self, *_: Any) -> None:
        self._call("on_foreground")

    def _on_stop(self, *_: Any) -> None:
        if self.stopped:  # App.stop() dispatches on_stop, then run() does again on its way out
            return
        self.stopped = True
        self._call("shutdown", self.shutdown_timeout)

    def unbind(self) -> None:
        for name, uid in self._uids:
            self.app.unbind_uid(name, uid)
        self._uids = []


def bind_lifecycle(app: Any, analytics: LifecycleAnalytics, *,
                   shutdown_timeout: float = STOP_TIMEOUT) -> LifecycleBinding:
    """Bind `analytics` to `app`'s lifecycle. Call it before the app starts (in
    ``__init__`` or ``build()``). ``shutdown_timeout``: the most on_stop blocks the UI
    thread (seconds; keep it well under Android's 5 s). Returns a LifecycleBinding
    (``.unbind()``)."""
    return LifecycleBinding(app, analytics, shutdown_timeout)
