"""Automatic screen tracking: one `screen()` call per ScreenManager.current change."""
from __future__ import annotations

import logging

TYPE_CHECKING = False  # mypy reads the block below; at run time typing stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable, Mapping, Optional, Protocol, Union

    class ScreenAnalytics(Protocol):  # an Analytics, or anything with its screen()
        def screen(self, title: str, category: Optional[str] = ...,
                   properties: Optional[Mapping[str, Any]] = ...) -> None: ...

    #: a screen's properties: a dict, or a callable of the screen's name that returns one
    Properties = Union[Mapping[str, Any], Callable[[str], Optional[Mapping[str, Any]]], None]

log = logging.getLogger("segment_statsig")


class ScreenTracker:
    """Bound to one ScreenManager; `unbind()` stops it. `last` is the last name sent."""

    def __init__(self, screen_manager: Any, analytics: ScreenAnalytics, *,
                 name_for: Optional[Callable[[str], Optional[str]]] = None, category: Optional[str] = None,
                 properties: Properties = None) -> None:
        self.screen_manager = screen_manager
        self.analytics = analytics
        self.name_for = name_for
        self.category = category
        self.properties = properties
        self.last: Optional[str] = None
        self._uid: int = screen_manager.fbind("current", self._changed)

    def _changed(self, _manager: Any, current: Optional[str]) -> None:
        if not current:
            return
        title = self.name_for(current) if self.name_for is not None else current
        if not title:  # name_for returned None: this screen is not tracked
            return
        properties = self.properties(current) if callable(self.properties) else self.properties
        try:
            self.analytics.screen(title, self.category, dict(properties or {}))
        except Exception:  # a tracking failure must never break navigation
            log.exception("screen tracking: screen(%r) failed", title)
            return
        self.last = title

    def unbind(self) -> None:
        if self._uid:
            self.screen_manager.unbind_uid("current", self._uid)
            self._uid = 0


def track_screens(screen_manager: Any, analytics: ScreenAnalytics, *,
                  name_for: Optional[Callable[[str], Optional[str]]] = None, category: Optional[str] = None,
                  properties: Properties = None) -> ScreenTracker:
    """Call ``analytics.screen(name)`` for the current screen now and on every change.

    ``name_for(screen_name) -> str | None`` renames a screen (None: do not track it);
    ``category`` goes to every screen call; ``properties`` is a dict or a callable
    ``properties(screen_name) -> dict``. Returns a ScreenTracker (``.unbind()``).
    """
    tracker = ScreenTracker(screen_manager, analytics, name_for=name_for, category=category,
                            properties=properties)
    tracker._changed(screen_manager, screen_manager.current)
    return tracker
