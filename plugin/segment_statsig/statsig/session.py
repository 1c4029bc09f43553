"""The Statsig session ID, by the JS client's SessionID rules: a new session after 30
minutes without activity or 4 hours in all, kept across restarts in the storage folder
(``statsig-session.json``; written at most every 15 s while the session only goes on, and
at once when a new one starts)."""
from __future__ import annotations

import threading
import time
import uuid

from ..analytics.jsonsafe import compact
from ..storage.files import STATSIG_SESSION, read_json, write_json

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Callable, Optional

MAX_IDLE_MS = 30 * 60 * 1000
MAX_AGE_MS = 4 * 60 * 60 * 1000
PERSIST_THROTTLE_MS = 15_000


class Session:
    def __init__(self, directory: Optional[str], clock: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self.clock = clock  # seconds since the epoch (a test may pass its own)
        self._lock = threading.Lock()
        self._persisted_at = 0
        stored = read_json(directory, STATSIG_SESSION) or {}
        sid, start, last = stored.get("sessionID"), stored.get("startTime"), stored.get("lastUpdate")
        if isinstance(sid, str) and sid and isinstance(start, int) and isinstance(last, int):
            self._id, self._start, self._last = sid, start, last
        else:
            self._new(self._now())

    def _now(self) -> int:
        return int(self.clock() * 1000)

    def _new(self, now: int) -> None:
        self._id, self._start, self._last = str(uuid.uuid4()), now, now

    def current(self, bump: bool = True) -> str:
        """The session ID now: a new one when the last expired; `bump` counts this as activity."""
        with self._lock:
            now = self._now()
            if now - self._last > MAX_IDLE_MS or now - self._start > MAX_AGE_MS:
                self._new(now)
                self._persist(now)
            elif bump:
                self._last = now
                if now - self._persisted_at > PERSIST_THROTTLE_MS:
                    self._persist(now)
            return self._id

    def persist(self) -> None:
        """Write the session now (the app goes to the background)."""
        with self._lock:
            self._persist(self._now())

    def _persist(self, now: int) -> None:
        self._persisted_at = now
        write_json(self.directory, STATSIG_SESSION,
                   compact({"sessionID": self._id, "startTime": self._start, "lastUpdate": self._last}))
