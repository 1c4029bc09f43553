"""The radio seam: the one place that knows when the phone's radio was last woken, by
one of our requests or by the app's own traffic, and whether there is a network at all.

A request that finds the radio idle wakes it (a promotion, then ~10 s of high-power
tail: delivery/radio_model.py); one made while it is still up costs only the tail it
adds. So when the radio wakes, everything pending on every leg is told to go out in
that same window (the `on_wake` listeners: the Analytics flushes every destination), and
for `window` seconds after a wake what is made goes out too. Offline (`available`
False), the senders neither send nor retry; they all go once when it is back.

Every request of delivery/http.py reports itself here (`heard`), whichever thread and
leg made it: there is one radio per device, so one Analytics hears the others' too.
"""
from __future__ import annotations

import logging
import threading
import time
import weakref

from .radio_model import LTE

TYPE_CHECKING = False  # mypy reads the block below; at run time typing stays unloaded
if TYPE_CHECKING:
    from typing import Callable, List

log = logging.getLogger("segment_statsig")

# A request made within this long of a wake-up adds at most this much tail (~2 J on
# LTE), against ~11 J for a wake-up of its own later: worth sending what is made then.
WINDOW = 2.0
# Below LTE's 10.12 s tail: a request this long after the last one may find the
# radio already idle, so it counts as a wake-up (better to flush once too often).
TAIL = LTE.tail * 0.8

_radios: "weakref.WeakSet[Radio]" = weakref.WeakSet()
_radios_lock = threading.Lock()


class Radio:
    """One Analytics's view of the device's radio. `on_wake` listeners run on the thread
    that woke it (a sender, the values thread, the app's in network_active())."""

    def __init__(self, window: float = WINDOW, tail: float = TAIL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.tail = tail
        self.clock = clock
        self.available = True
        self.last_active = -float("inf")  # the last request's end, ours or the app's
        self.woke_at = -float("inf")      # when the radio last went from idle to high power
        self.on_wake: List[Callable[[], None]] = []
        self.on_available: List[Callable[[], None]] = []
        with _radios_lock:
            _radios.add(self)

    def close(self) -> None:
        """Stop hearing the process's requests (shutdown)."""
        with _radios_lock:
            _radios.discard(self)

    def heard(self) -> None:
        """A request went out: when the radio was idle before, it woke, and everything
        pending should go out now, in its tail."""
        now = self.clock()
        woke = now - self.last_active >= self.tail
        self.last_active = now
        if woke:
            self.woke_at = now
            self._tell(self.on_wake)

    def network_active(self) -> None:
        """The app's own traffic woke the radio (or keeps it up): pending goes out for free."""
        self.last_active = self.woke_at = self.clock()
        self._tell(self.on_wake)

    def in_window(self) -> bool:
        """True shortly after a wake-up: what is made now rides on it."""
        return self.available and self.clock() - self.woke_at < self.window

    def set_available(self, available: bool) -> None:
        was, self.available = self.available, available
        if available and not was:
            self.last_active = self.woke_at = -float("inf")  # nothing is known of the radio now
            self._tell(self.on_available)

    @staticmethod
    def _tell(listeners: List[Callable[[], None]]) -> None:
        for listener in list(listeners):
            try:
                listener()
            except Exception:
                log.exception("radio: a listener failed; ignored")


def heard() -> None:
    """delivery/http.py, after each request: every radio of the process hears it."""
    with _radios_lock:
        radios = list(_radios)
    for radio in radios:
        radio.heard()


def online() -> bool:
    """False while any Analytics of the process was told the network is gone: no request
    then (delivery/http.py answers a network error without trying)."""
    with _radios_lock:
        return all(radio.available for radio in _radios)
