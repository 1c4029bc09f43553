"""A destination's delivery counters, readable from any thread."""
from __future__ import annotations

import threading

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, Optional

FIELDS = ("queued", "sent", "dropped", "retried", "requests", "quarantined", "filtered", "blocked", "last_error")


class DeliveryStats:
    """Counters of one destination; `snapshot()` for a consistent copy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.queued = 0
        self.sent = 0
        self.dropped = 0
        self.retried = 0
        self.requests = 0
        self.quarantined = 0  # events this destination failed on, set aside (storage/quarantine.py)
        self.filtered = 0     # events a destination filter (routing rule) dropped
        self.blocked = 0      # events consent kept from this destination
        self.last_error: Optional[str] = None

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def error(self, text: Optional[str]) -> None:
        with self._lock:
            self.last_error = text

    def snapshot(self) -> Dict[str, Any]:
        with self._lock:
            return {name: getattr(self, name) for name in FIELDS}

    def __repr__(self) -> str:
        return f"DeliveryStats({self.snapshot()})"
