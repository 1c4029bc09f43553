"""A destination that stores what it makes of each event in a durable queue and
delivers it on its own worker. StatsigDestination and SegmentDestination are two."""
from __future__ import annotations

import json
import logging
import threading

from ..analytics.jsonsafe import compact
from ..analytics.plugin import DestinationPlugin
from ..storage.fallback import FallbackQueue
from ..storage.files import describe_error
from ..storage.quarantine import describe
from ..storage.memory_queue import MemoryQueue
from ..storage.queue import SqliteQueue, open_queue
from .stats import DeliveryStats
from .worker import Delivery

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Sequence

    from .._typing import Event, Listener, QueueItem
    from ..analytics.client import Analytics
    from ..storage.queue import Queue
    from .http import SendResult

log = logging.getLogger("segment_statsig")

encode = compact


class QueuedDestination(DestinationPlugin):
    prompt = False  # it batches anyway; a delivery listener (add_listener) makes it prompt
    queue_file = "queue.sqlite3"   # in the Analytics storage folder

    # The receiver's limits (a subclass sets its API's): a batch's events add up to at
    # most max_batch_bytes of JSON; an event over max_event_bytes can never be delivered.
    max_batch_bytes: Optional[int] = 1_000_000
    max_event_bytes: Optional[int] = None

    def __init__(self, *, flush_at: Optional[int] = None, flush_interval: Optional[float] = None,
                 max_batch_size: int = 100, max_burst_batch_size: int = 1000, max_queue_events: int = 100_000,
                 max_queue_bytes: int = 32 * 1024 * 1024, retry_base: float = 1.0, retry_max: float = 60.0) -> None:
        super().__init__()
        if isinstance(max_batch_size, bool) or not isinstance(max_batch_size, int) or max_batch_size < 1:
            raise ValueError("max_batch_size must be an int >= 1")
        if (isinstance(max_burst_batch_size, bool) or not isinstance(max_burst_batch_size, int)
                or max_burst_batch_size < max_batch_size):
            raise ValueError("max_burst_batch_size must be an int >= max_batch_size")
        self.flush_at = flush_at
        self.flush_interval = flush_interval
        self.max_batch_size = max_batch_size
        self.max_burst_batch_size = max_burst_batch_size
        self.max_queue_events = max_queue_events
        self.max_queue_bytes = max_queue_bytes
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.stats = DeliveryStats()
        self.delivery: Optional[Delivery] = None
        self._pending: List[QueueItem] = []  # JSON texts made since the last commit
        self._queue: Optional[Queue] = None
        self._queue_lock = threading.Lock()
        self._store_lock = threading.Lock()  # the timeline worker and the values thread both store
        self._listeners: List[Listener] = []

    # --- what a subclass provides ---------------------------------------------
    def ready(self) -> bool:
        """True when sending is possible (a key is known)."""
        return True

    def send(self, texts: List[str]) -> SendResult:
        """POST one batch; returns a delivery.SendResult."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Load the network stack (runs on the delivery thread)."""

    # --- plugin ---------------------------------------------------------------
    def setup(self, analytics: Analytics) -> None:
        """Added to `analytics` (again, after remove(): the same sender carries on). One
        sender per queue: while this instance's sender works for another Analytics (until
        that one's shutdown()), a ValueError."""
        previous, delivery = self.analytics, self.delivery
        if previous is analytics and delivery is not None:
            super().setup(analytics)
            delivery.start()
            return
        if previous is not None and delivery is not None and delivery.running:
            raise ValueError(f"this {type(self).__name__} is in use by another Analytics: its sender runs until "
                             f"that one's shutdown(); give each Analytics its own instance")
        with self._queue_lock:  # a queue left open in the previous Analytics's folder
            if self._queue is not None:
                self._queue.close()
                self._queue = None
        super().setup(analytics)
        self.delivery = Delivery(
            self.key.lower(), self._get_queue, self.send, self.ready, self.stats, self._notify,
            flush_at=self.flush_at or analytics.flush_at,
            flush_interval=self.flush_interval or analytics.flush_interval,
            max_batch_size=self.max_batch_size, max_burst_batch_size=self.max_burst_batch_size,
            max_batch_bytes=self.max_batch_bytes,
            retry_base=self.retry_base, retry_max=self.retry_max,
            prepare=self.prepare)
        self.delivery.start()

    def enqueue(self, payload: Dict[str, Any], text: Optional[str] = None, message_id: Optional[str] = None) -> None:
        """Keep `payload` (a JSON-ready dict; `text`, its JSON when already made) for the
        next commit. `message_id` makes storing it idempotent: the journal replays what a
        crash left unmarked, and the queue keeps only one copy."""
        text = encode(payload) if text is None else text
        if self.max_event_bytes is not None and len(text) > self.max_event_bytes:
            # Sent with others it would take them down with it (the receiver refuses the
            # whole batch), and alone it is refused too: set aside, counted, named.
            self.stats.add(dropped=1)
            log.error("%s: %s is %d bytes, over the %d bytes one event may have here; not sent",
                      self.key, describe(payload), len(text), self.max_event_bytes)
            self._notify("dropped", [payload], None)
            return
        self._pending.append((message_id, text))
        if self._listeners:
            self._notify("queued", [payload], None)

    def commit(self) -> None:
        """The timeline worker: store what this pass made, unless it could go out as it is
        (a full batch, nothing older queued: Delivery.send_direct)."""
        if self._pending:
            items, self._pending = self._pending, []
            delivery = self.delivery
            if delivery is not None and delivery.send_direct([text for _, text in items], self._get_queue().count):
                self.stats.add(queued=len(items))
                return
            self.store(items)

    def store(self, items: List[QueueItem]) -> Queue:
        """Put (message id, JSON text) items in the durable queue now, from any thread;
        returns the queue. A queue that fails is replaced by one in memory."""
        with self._store_lock:
            return self._store(items)

    def _store(self, texts: List[QueueItem]) -> Queue:
        queue = self._get_queue()
        try:
            dropped = queue.put_many(texts)
        except Exception as error:  # disk full, I/O error: keep going in memory
            queue = self._fall_back(queue, error)
            dropped = queue.put_many(texts)
        if isinstance(queue, FallbackQueue) and queue.healed:  # the file takes writes again
            with self._queue_lock:
                self._queue = queue.disk
        self.stats.add(queued=len(texts))
        if dropped:
            self.stats.add(dropped=dropped)
            log.warning("%s: queue full (%d events / %d bytes max); dropped the %d oldest",
                        self.key, self.max_queue_events, self.max_queue_bytes, dropped)
        return queue

    def _fall_back(self, queue: Queue, error: BaseException) -> FallbackQueue:
        """The queue file refused a write: new events go to memory; what the file holds
        is delivered from it (not copied: a copy would be sent again by the next start)."""
        log.warning("%s: cannot store events in its queue file (%s); keeping new ones in memory (not durable)",
                    self.key, describe_error(error))
        disk = queue if isinstance(queue, SqliteQueue) else None  # a durable queue (a file)
        try:
            first_id = disk.last_id() + 1 if disk is not None else 1
        except Exception as unreadable:  # a malformed file: what it holds stays there for the next start
            log.warning("%s: cannot read the queue file either (%s); its events stay in it",
                        self.key, describe_error(unreadable))
            assert disk is not None  # only its last_id() raises here
            disk.close()
            disk, first_id = None, 1
        memory = MemoryQueue(self.max_queue_events, self.max_queue_bytes, first_id=first_id)
        fallback = FallbackQueue(disk, memory)
        with self._queue_lock:
            self._queue = fallback
        return fallback

    def skipped(self, event: Event, why: str) -> None:
        """Counted (stats.filtered / stats.blocked) and told to listeners ("filtered" /
        "blocked", with the Segment event: no Statsig event was made of it)."""
        self.stats.add(**{"filtered" if why == "filtered" else "blocked": 1})
        self._notify(why, [event], None)

    def committed(self) -> None:
        if self.delivery is not None:
            count = self._get_queue().count
            if not self.delivery.send_here(count):
                self.delivery.queue_grew(count)

    def reset(self) -> None:
        """Forget the user: what was stored before keeps its user until delivered,
        then leaves no trace in the queue file."""
        self.commit()
        with self._queue_lock:
            queue = self._queue
        if queue is not None:
            try:
                queue.forget()
            except Exception as error:
                log.warning("%s: could not scrub the queue after reset (%s)", self.key, error)

    def flush(self) -> None:
        if self.delivery is not None:
            self.delivery.request_flush()

    def ready_changed(self) -> None:
        """ready() may say otherwise now (a key came): the sender looks again. What waited
        for it goes out as it would have (flushed: at once; else with its batch or timer)."""
        if self.delivery is not None:
            self.delivery.wake.set()

    def purge(self) -> int:
        """Erase what waits to be sent (the timeline worker, between passes): what this
        pass made and the queue. A batch already in flight is the server's by now."""
        erased = len(self._pending)
        self._pending = []
        with self._store_lock:
            queue = self._get_queue()
            try:
                erased += queue.purge()
            except Exception as error:
                log.warning("%s: could not erase the queue (%s)", self.key, error)
        if self.delivery is not None:
            self.delivery.purged()
        self._notify("purged", [], None)
        return erased

    def retry_now(self) -> None:
        """The network is back: try now instead of at the end of the current backoff
        step (a server's Retry-After still holds). flush() waits for the backoff."""
        if self.delivery is not None:
            self.delivery.retry_now()

    def wait_idle(self, timeout: float) -> bool:
        return self.delivery is None or self.delivery.wait_idle(timeout)

    def shutdown(self, timeout: float) -> bool:
        stopped = self.delivery is None or self.delivery.stop(timeout)
        if stopped:
            with self._queue_lock:
                if self._queue is not None:
                    self._queue.close()
                    self._queue = None
        return stopped

    def _get_queue(self) -> Queue:
        with self._queue_lock:
            if self._queue is None:
                directory = self.analytics.storage_dir if self.analytics is not None else None
                self._queue = open_queue(directory, self.queue_file, self.max_queue_events, self.max_queue_bytes)
            return self._queue

    @property
    def queue_depth(self) -> int:
        """Events waiting: stored and not yet delivered, plus those not yet stored."""
        return self._get_queue().count + len(self._pending)

    # --- listeners ------------------------------------------------------------
    def add_listener(self, callback: Listener) -> None:
        """callback(state, events, status): state "queued" | "sent" | "retrying" |
        "dropped" (the payload dicts), or "filtered" | "blocked" | "purged" (the Segment
        events a filter or consent kept from this destination, or purge() erased); the
        HTTP status (None but for sent / retrying / dropped after a reply). Runs on a
        worker thread: keep it short."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Listener) -> None:
        self._listeners.remove(callback)

    def _notify(self, state: str, events: Sequence[Any], status: Optional[int]) -> None:
        if not self._listeners:
            return
        events = [_payload(e) if isinstance(e, str) else e for e in events]
        for callback in list(self._listeners):
            try:
                callback(state, events, status)
            except Exception:
                log.exception("%s: a delivery listener failed", self.key)


def _payload(text: str) -> Any:
    """A queue row's event for a listener; a row that cannot be read back (damage, or
    nested too deeply) is given as its text."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text
