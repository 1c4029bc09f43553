"""Statsig listener events on Kivy's main thread: the destination calls listeners on a
thread of its own, and Kivy widgets may only be touched from the main thread.

    dest.on("values_updated", on_main_thread(self.show_flags))
"""
from __future__ import annotations

TYPE_CHECKING = False  # mypy reads the block below; at run time typing stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable


def on_main_thread(callback: Callable[[Any], Any]) -> Callable[[Any], None]:
    """A listener that hands each event to `callback` on Kivy's main thread, at its next frame."""
    from kivy.clock import Clock

    def listener(event: Any) -> None:
        Clock.schedule_once(lambda _dt: callback(event), 0)
    return listener
