"""Listeners, as the JS client's ``client.on(name, callback)``: the app subscribes to
``values_updated``, the four ``*_evaluation`` events, ``logs_flushed`` and ``error`` and
gets back a function that unsubscribes. Two more tell a UI to read its values again where
Statsig's client emits nothing: ``overrides_updated`` (an override set or removed) and
``user_changed`` (identify, alias or reset changed who the values are for). Callbacks run on one worker thread of their own
(``segment-statsig-listeners``), never on the caller's and never under a lock of ours, in
the order the events happened; one that raises is logged and the others still run."""
from __future__ import annotations

import logging
import queue
import threading

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Tuple

    Callback = Callable[[Dict[str, Any]], Any]

log = logging.getLogger("segment_statsig")

#: the event of each kind's evaluation, and the field that carries the Evaluation (the JS client's names)
EVALUATION_EVENTS = {"gate": "gate_evaluation", "config": "dynamic_config_evaluation",
                     "experiment": "experiment_evaluation", "layer": "layer_evaluation"}
EVALUATION_FIELDS = {"gate": "gate", "config": "dynamic_config", "experiment": "experiment", "layer": "layer"}
EVENTS = ("values_updated", "gate_evaluation", "dynamic_config_evaluation", "experiment_evaluation",
          "layer_evaluation", "logs_flushed", "error", "overrides_updated", "user_changed", "*")


class Listeners:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: Dict[str, List[Callback]] = {}
        self._queue: queue.SimpleQueue[Optional[Tuple[List[Callback], Dict[str, Any]]]] = queue.SimpleQueue()
        self._thread: Optional[threading.Thread] = None
        self.subscribed = False  # once anyone subscribed: until then emitting is skipped at once

    def on(self, event: str, callback: Callback) -> Callable[[], None]:
        """Subscribe `callback` (called with a dict holding ``name`` and the event's data)
        to `event` (one of EVENTS; ``*``: every one). Returns the unsubscribe function."""
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}; one of {', '.join(EVENTS)}")
        if not callable(callback):
            raise TypeError("callback must be callable")
        with self._lock:
            self._callbacks[event] = [*self._callbacks.get(event, []), callback]
            self.subscribed = True

        def unsubscribe() -> None:
            with self._lock:
                kept = list(self._callbacks.get(event, []))
                if callback in kept:
                    kept.remove(callback)
                    self._callbacks[event] = kept
        return unsubscribe

    def wants(self, event: str) -> bool:
        """Cheap: is anyone listening (so the caller may skip building the event)?"""
        return bool(self._callbacks.get(event) or self._callbacks.get("*"))

    def emit(self, event: str, **data: Any) -> None:
        """Hand the event to the listeners' thread; returns at once, from any thread."""
        with self._lock:
            callbacks = [*self._callbacks.get(event, []), *self._callbacks.get("*", [])]
            if not callbacks:
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="segment-statsig-listeners", daemon=True)
                self._thread.start()
        self._queue.put((callbacks, {"name": event, **data}))

    def stop(self, timeout: float = 1.0) -> None:
        """Deliver what was emitted so far (up to `timeout` s), then end the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            callbacks, event = item
            for callback in callbacks:
                try:
                    callback(event)
                except Exception:  # the app's bug: say so, and go on with the others
                    log.exception("Statsig: a %s listener raised; the other listeners still run", event["name"])
