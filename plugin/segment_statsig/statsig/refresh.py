"""When the values thread refreshes on its own (``auto_value_update_interval``, as Android's
enableAutoValueUpdate): after the interval, at the next request the destination sends, so
one radio wake-up carries both; at twice the interval whatever happens, so values never
grow older than that while the app sends nothing."""
from __future__ import annotations

import time

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Optional


class RefreshPolicy:
    def __init__(self, interval: Optional[float]) -> None:
        self.interval = interval      # seconds, or None: no periodic refresh
        self.radio_at = 0.0           # monotonic time of the destination's last request

    def seconds_left(self, last_fetch: float) -> Optional[float]:
        """Until the refresh after a fetch at `last_fetch` (monotonic): 0.0 when due, None never."""
        interval = self.interval
        if interval is None:
            return None
        now = time.monotonic()
        soon, latest = last_fetch + interval, last_fetch + 2 * interval
        if now >= latest or (now >= soon and self.radio_at >= soon):
            return 0.0
        return (soon if now < soon else latest) - now
