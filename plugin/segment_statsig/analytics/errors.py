"""Analytics(error_handler=fn): every error and warning the workers log (delivery,
settings, the timeline and its storage, feature values) also reaches fn, as an
AnalyticsError, on the worker thread that met it, never on the app's thread
(analytics-kotlin's errorHandler)."""
from __future__ import annotations

import logging
import threading

TYPE_CHECKING = False  # mypy reads the block below; at run time typing stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable, Optional, Set


class AnalyticsError(Exception):
    """`kind`: "delivery", "settings", "timeline" or "values" (the worker that met it);
    `cause`: the exception behind it, when there was one."""

    def __init__(self, kind: str, message: str, cause: Optional[BaseException] = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.cause = cause


def _kind(thread_name: str) -> str:
    role = thread_name.replace("segment-statsig-", "", 1)
    return role if role in ("timeline", "settings", "values") else "delivery"


def worker_threads(analytics: Any) -> Set[threading.Thread]:
    """The threads this Analytics started (another Analytics's are not its business)."""
    threads = {analytics.worker.thread, getattr(analytics, "settings_thread", None)}
    for plugin in analytics._all_plugins():
        threads.add(getattr(getattr(plugin, "delivery", None), "thread", None))
        threads.add(getattr(getattr(plugin, "_feature_store", None), "_thread", None))
    return {t for t in threads if t is not None}


class ErrorForwarder(logging.Handler):
    def __init__(self, analytics: Any, fn: Callable[[AnalyticsError], None]) -> None:
        super().__init__(logging.WARNING)
        if not callable(fn):
            raise TypeError(f"error_handler must be callable: fn(error), not {fn!r}")
        self.analytics = analytics
        self.fn = fn
        self.inside = threading.local()  # a handler that logs to our logger must not loop

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self.inside, "yes", False):
            return
        thread = threading.current_thread()
        if not thread.name.startswith("segment-statsig-") or thread not in worker_threads(self.analytics):
            return
        cause = record.exc_info[1] if record.exc_info else None
        self.inside.yes = True
        try:
            self.fn(AnalyticsError(_kind(thread.name), record.getMessage(), cause))
        except Exception:  # the app's handler failed: to stderr, as logging does (logging it here would loop)
            self.handleError(record)
        finally:
            self.inside.yes = False
