"""Segment's mobile lifecycle events, by the Spec and analytics-kotlin/-swift: Installed
or Updated (by the app version seen last), Opened at launch (from_background false) and
on each return from the background (true), Backgrounded; Foregrounded only when asked
for, as analytics-swift has it. One Opened per launch or return, however often the app's
hooks fire (analytics-swift#265: a launch that also reports entering the foreground)."""
from __future__ import annotations

import json

from ..storage.files import APP, read_json, write_json

TYPE_CHECKING = False  # mypy reads the block below; at run time typing stays unloaded
if TYPE_CHECKING:
    from typing import Any, FrozenSet, Optional, Union, Iterable

INSTALLED = "Application Installed"
UPDATED = "Application Updated"
OPENED = "Application Opened"
BACKGROUNDED = "Application Backgrounded"
FOREGROUNDED = "Application Foregrounded"

# What track_lifecycle_events=True tracks (analytics-swift's default set); Foregrounded is opt-in.
DEFAULT_LIFECYCLE_EVENTS = frozenset({INSTALLED, UPDATED, OPENED, BACKGROUNDED})
ALL_LIFECYCLE_EVENTS = DEFAULT_LIFECYCLE_EVENTS | {FOREGROUNDED}


def tracked_events(option: Union[bool, Iterable[str], None]) -> FrozenSet[str]:
    """track_lifecycle_events: True (the default set), False, or the names to track."""
    if option is None or option is False:
        return frozenset()
    if option is True:
        return DEFAULT_LIFECYCLE_EVENTS
    if isinstance(option, (str, bytes)) or not hasattr(option, "__iter__"):
        raise TypeError("track_lifecycle_events must be True, False or a collection of lifecycle event names")
    names = frozenset(option)
    unknown = names - ALL_LIFECYCLE_EVENTS
    if unknown:
        raise ValueError(f"track_lifecycle_events: {sorted(map(str, unknown))} are not lifecycle events; "
                         f"choose among {sorted(ALL_LIFECYCLE_EVENTS)}")
    return names


class Lifecycle:
    """The app's lifecycle hooks -> events, for one Analytics (`track` is its track)."""

    def __init__(self, analytics: Any, tracked: FrozenSet[str]) -> None:
        self.analytics = analytics
        self.tracked = tracked
        self.launched = False      # Opened (from_background false) done for this process
        self.in_background = False  # backgrounded since the last Opened

    def _track(self, name: str, properties: Optional[dict] = None) -> None:  # type: ignore[type-arg]
        if name in self.tracked:
            self.analytics.track(name, properties)

    def _version(self) -> dict:  # type: ignore[type-arg]
        info = self.analytics.app_info
        return {"version": info.get("version"), "build": info.get("build")}

    def start(self) -> None:
        """Launch: Installed or Updated, then Opened (once per process)."""
        if self.launched or not self.tracked:
            return
        self.launched = True
        analytics = self.analytics
        current = self._version()
        seen = read_json(analytics.storage_dir, APP)
        if seen is None:
            self._track(INSTALLED, current)
        elif (seen.get("version"), seen.get("build")) != (current["version"], current["build"]):
            self._track(UPDATED, {**current, "previous_version": seen.get("version"),
                                  "previous_build": seen.get("build")})
        write_json(analytics.storage_dir, APP, json.dumps(current))
        self._track(OPENED, {"from_background": False, **current})

    def foreground(self) -> None:
        """Back from the background: Opened (from_background true). A foreground hook
        with no background before it (a launch reporting both) tracks nothing."""
        if not self.in_background:
            return
        self.in_background = False
        self._track(OPENED, {"from_background": True, **self._version()})
        self._track(FOREGROUNDED, {"from_background": True, **self._version()})

    def background(self) -> None:
        if self.in_background:
            return  # one Backgrounded per trip
        self.in_background = True
        self._track(BACKGROUNDED)
