"""One destination's delivery worker: batches from its durable queue, sends them
through a transport, retries what may succeed later, removes what was delivered.

What is retried and how long to wait is delivery/policy.py. 413 halves the batch
(one event alone that is too large is dropped). 404 and 405 keep the batch queued, with
an error naming the URL, and retry on the long backoff. Any other status that is not 2xx
is final for that batch: it is dropped with a log line naming the status and the reply.

The timeline worker sends a full batch itself while this sender's requests are quick,
stops after the first slow one (the rest is this thread's), and never waits on one
longer than INLINE_DEADLINE: past that the request is given up
(as after any timeout, the server may then see that batch twice), the batch stays
queued and the retry is this destination's own thread's.
"""
from __future__ import annotations

TYPE_CHECKING = False  # mypy reads the blocks under it; at run time typing stays unloaded

import logging
import threading
import time

from . import policy, radio
from .http import time_limit

if TYPE_CHECKING:
    from typing import Any, Callable, List, Optional

    import threading as _threading

    from .._typing import QueueRow as Row
    from ..storage.queue import Queue
    from .http import SendResult
    from .stats import DeliveryStats

log = logging.getLogger("segment_statsig")

INLINE_MAX_SECONDS = 1.0  # a send that took longer (or failed) keeps the next ones off the timeline
INLINE_DEADLINE = 2.0     # the longest the timeline waits on one request of its own


class Delivery:
    """The worker thread. `send(texts) -> SendResult`; `ready() -> bool` says whether
    sending is possible at all (a key is known); `prepare()`, when given, runs once
    first on the thread (it loads the network stack there, before the first batch)."""

    def __init__(self, name: str, get_queue: Callable[[], Queue], send: Callable[[List[str]], SendResult],
                 ready: Callable[[], bool], stats: DeliveryStats,
                 notify: Callable[[str, List[Any], Optional[int]], None], *, flush_at: int,
                 flush_interval: float, max_batch_size: int, retry_base: float, retry_max: float,
                 max_batch_bytes: Optional[int] = None, max_burst_batch_size: Optional[int] = None,
                 clock: Callable[[], float] = time.monotonic,
                 prepare: Optional[Callable[[], None]] = None) -> None:
        self.name = name
        self.get_queue = get_queue
        self.send = send
        self.ready = ready
        self.stats = stats
        self.notify = notify  # notify(state, texts, status)
        self.flush_at = flush_at
        self.flush_interval = flush_interval
        # A batch holds max_batch_size events; while more than that wait (a burst, a backlog
        # after an outage) it grows up to max_burst_batch_size, as Statsig's own SDKs send.
        self.max_batch_size = max_batch_size
        self.max_burst_batch_size = max(max_batch_size, max_burst_batch_size or max_batch_size)
        self.size_cap = self.max_burst_batch_size  # 413 halves it, each success doubles it back
        # After a request, a part batch waits this long (a full burst batch does not): at a
        # high steady rate batches grow instead of requests multiplying; at an app's pace
        # (flush_at events a few seconds apart) it never holds anything back.
        self.min_send_interval = min(1.0, flush_interval)
        self.last_send = -float("inf")
        self.max_batch_bytes = max_batch_bytes  # JSON bytes of a batch's events (None: no bound)
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.clock = clock
        self.prepare = prepare
        self.wake = threading.Event()
        self.idle = threading.Condition()
        self.busy = False
        self.flush_requested = False
        self.stopping = False
        self.attempt = 0
        self.not_before = 0.0   # while backing off: no attempt before this clock time
        self.server_hold = 0.0  # a server's Retry-After: not even retry_now() sends before it
        self.epoch = 0          # bumped by purged(): rows peeked before it are gone
        self.send_lock = threading.Lock()  # one sender at a time: this thread or the timeline's
        # Until a send has proven quick, and again after one was slow or failed, sending is
        # this thread's alone: a hanging server must never hold up the timeline.
        self.slow = True
        self.timer = False      # a flush_interval timer of this sender's own is running
        self.timer_from = 0.0   # since when
        self.thread: Optional[_threading.Thread] = None
        self.state_lock = threading.Lock()  # start() and the thread's end: never two threads, never none
        self.running = False

    def start(self) -> None:
        """Start the thread; after stop(), again, unless the old one still runs: then it
        carries on (a destination removed and added again keeps one sender on its queue)."""
        with self.state_lock:
            self.stopping = False
            if not self.running:
                self.running = True
                self.thread = threading.Thread(target=self._run, name=f"segment-statsig-{self.name}", daemon=True)
                self.thread.start()

    def request_flush(self) -> None:
        """Send everything queued now; while a retry is scheduled, when its backoff ends.
        At most one attempt per backoff step, whoever asks: an app calling flush() in a
        loop during an outage must not become a request loop. With nothing queued there
        is nothing to ask for: a request left standing would send the next events early
        (alone, if this thread runs late), not in their batch."""
        if self.get_queue().count:
            self.flush_requested = True
            self.wake.set()

    def retry_now(self) -> None:
        """The network is back (the app knows, a connectivity callback says so): end
        the current backoff step and start backing off afresh; a server's Retry-After
        still holds."""
        self.attempt = 0
        self.not_before = self.server_hold if self.server_hold > self.clock() else 0.0
        self.flush_requested = True
        self.wake.set()

    def purged(self) -> None:
        """The queue was erased: a batch in flight must not count its rows as removed."""
        self.epoch += 1

    def stored_aside(self, count: int) -> None:
        """Rows stored by another thread than the timeline's (exposures): they are sent
        with the next batch, or on this sender's own timer, at the latest."""
        if not self.timer:
            self.timer_from = self.clock()
            self.timer = True
            self.wake.set()
        self.queue_grew(count)

    def queue_grew(self, count: int) -> None:
        if count >= self.flush_at:
            self.wake.set()

    def stop(self, timeout: float) -> bool:
        self.stopping = True
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout)
        return self.thread is None or not self.thread.is_alive()

    def wait_idle(self, timeout: Optional[float]) -> bool:
        """Block until the queue is empty and nothing is in flight, or timeout."""
        with self.idle:  # notified after every send and before every wait
            return self.idle.wait_for(lambda: not self.busy and not self.get_queue().count, timeout)

    def _run(self) -> None:
        while True:
            self._serve()
            with self.state_lock:  # start() may have come between the loop's last look and here
                if self.stopping:
                    self.running = False
                    return

    def _serve(self) -> None:
        if self.prepare is not None:
            try:
                self.prepare()
            except Exception:  # only a head start: the first send sets up what is missing
                log.debug("%s: preparing delivery failed", self.name, exc_info=True)
        self.timer = bool(self.get_queue().count)  # an earlier run's rows: sent on this timer
        self.timer_from = self.clock()
        while not self.stopping:
            if not radio.online():  # offline: no send, no retry until network_available(True) wakes us
                with self.idle:
                    self.idle.notify_all()
                # (a slow look of our own too: another Analytics of the process may be the one told)
                self.wake.wait(max(self.flush_interval, 30.0))
                self.wake.clear()
                continue
            queue = self.get_queue()
            now = self.clock()
            due = (self.flush_requested or self._batch_due(queue.count, now)
                   or (self.timer and now - self.timer_from >= self.flush_interval))
            wait = self.flush_interval - (now - self.timer_from) if self.timer else None
            if not due and queue.count >= self.flush_at:  # a full batch, paced after the last request
                pace = self.min_send_interval - (now - self.last_send)
                wait = pace if wait is None else min(wait, pace)
            if self.not_before:  # backing off: the retry is due when the wait is over
                wait = self.not_before - self.clock()
                due = wait <= 0
            if due and queue.count and self.ready():
                with self.send_lock:
                    self._send_guarded(queue)
                if not self.not_before:
                    self.flush_requested = False
                if not queue.count:
                    self.timer = False
                with self.idle:
                    self.idle.notify_all()
                continue
            if due and not queue.count:
                self.flush_requested = False
                self.timer = False
            with self.idle:
                self.idle.notify_all()
            # No timer unless one is needed: part batches are the timeline's to time (its
            # batch timer flushes the destinations), so an idle sender sleeps until woken.
            self.wake.wait(None if wait is None else max(0.001, min(wait, self.flush_interval)))
            self.wake.clear()

    def send_here(self, count: int) -> bool:
        """The timeline worker, with a full batch just stored (`count` rows queued): send
        it on that thread rather than wake this one (on a phone each wake-up costs), when
        this sender is idle, not backing off, and its last requests were quick: a slow or
        hanging server is this thread's to wait for, never the timeline's (the first
        requests are this thread's too, until one has been quick). True if sent."""
        if (not self._batch_due(count, self.clock()) or self.not_before or self.stopping or self.thread is None
                or self.slow or not self.ready() or not radio.online() or not self.send_lock.acquire(blocking=False)):
            return False
        try:
            # All of it, the part batch too: with the queue empty, the next pass can go out
            # as it is (send_direct), without the queue.
            with time_limit(INLINE_DEADLINE):
                self._send_guarded(self.get_queue(), drain=True)
        finally:
            self.send_lock.release()
        with self.idle:
            self.idle.notify_all()
        if self.not_before:  # it failed: the retry is this thread's
            self.wake.set()
        elif self.slow and self.get_queue().count:  # slow: what the drain left is this thread's, now
            self.flush_requested = True
            self.wake.set()
        return True

    def _batch_due(self, count: int, now: float) -> bool:
        """A full batch is due: a burst batch at once, one of flush_at paced."""
        return count >= self.max_burst_batch_size or (
            count >= self.flush_at and now - self.last_send >= self.min_send_interval)

    def _send_guarded(self, queue: Queue, drain: bool = False) -> None:
        """_send_all, with the sender lock held, on either thread."""
        self.busy = True
        try:
            self._send_all(queue, drain)
        except Exception:
            log.exception("%s: delivery failed unexpectedly; will retry", self.name)
            self._backoff(None)
            self.slow = True
        finally:
            self.busy = False

    def _send_all(self, queue: Queue, drain: bool = False) -> None:
        """Send batches until the queue is empty (or, unless `drain`, only a part batch is
        left), a retry is scheduled, or we stop."""
        first = True
        while not self.stopping and queue.count and self.ready() and radio.online():
            if self.not_before and self.clock() < self.not_before:
                return
            if not first and queue.count < self.max_burst_batch_size and not self.flush_requested and not drain:
                return  # what is left waits for the pace, more events or the timer
            if not first and drain and self.slow:
                return  # the timeline's drain met a slow request: the rest is this thread's
            first = False
            count = queue.count
            limit = self.max_batch_size if count <= self.max_batch_size else min(count, self.max_burst_batch_size)
            self.last_send = self.clock()
            rows = queue.peek(min(limit, self.size_cap))
            if not rows:
                return
            if self.max_batch_bytes is not None:
                rows = _within(rows, self.max_batch_bytes)
            ids = [row[0] for row in rows]
            texts = [row[1] for row in rows]
            epoch = self.epoch
            result = self._request(texts)
            if epoch != self.epoch:  # purged while in flight: nothing of it is left to remove
                if policy.delivered(result.status):
                    self.stats.add(sent=len(ids))
                return
            if self._outcome(result, texts, lambda: queue.remove(ids)) == "retry":
                return

    def send_direct(self, texts: List[str], queued: int) -> bool:
        """The timeline worker, with a pass's events made and not yet stored: when they are
        a batch due now, nothing older waits in the queue and this sender is idle and quick,
        send them as they are, sparing the queue's insert, read and delete (they are durable
        in the journal until the pass is marked done). True when they need no storing:
        delivered, or refused for good; else the caller stores them (a retry is then this
        thread's, after the backoff this scheduled)."""
        count = len(texts)
        if (queued or count > min(self.max_burst_batch_size, self.size_cap) or not self._batch_due(count, self.clock())
                or self.not_before or self.stopping or self.thread is None or self.slow or not self.ready()
                or not radio.online() or (self.max_batch_bytes is not None and sum(map(len, texts)) + count > self.max_batch_bytes)
                or not self.send_lock.acquire(blocking=False)):
            return False
        self.busy = True
        self.last_send = self.clock()
        try:
            with time_limit(INLINE_DEADLINE):
                result = self._request(texts)
            outcome = self._outcome(result, texts, None)
        except Exception:
            log.exception("%s: delivery failed unexpectedly; will retry", self.name)
            self._backoff(None)
            self.slow = True
            outcome = "retry"
        finally:
            self.busy = False
            self.send_lock.release()
        with self.idle:
            self.idle.notify_all()
        if self.not_before:  # the retry is this thread's
            self.wake.set()
        return outcome in ("sent", "dropped")

    def _request(self, texts: List[str]) -> SendResult:
        """One request; it also says whether the timeline may send the next ones itself:
        only while each is answered, with a 2xx, within INLINE_MAX_SECONDS."""
        started = self.clock()
        result = self.send(texts)
        self.stats.add(requests=1)
        self.slow = self.clock() - started > INLINE_MAX_SECONDS or not policy.delivered(result.status)
        return result

    def _outcome(self, result: SendResult, texts: List[str], remove: Optional[Callable[[], int]]) -> str:
        """Apply what a request's reply means (delivery/policy.py): "sent" (removed from the
        queue, when they were in it), "smaller" (413: batches halve), "retry" (a backoff
        step scheduled) or "dropped" (a final status)."""
        status, count = result.status, len(texts)
        if policy.delivered(status):
            # Rows the bound trimmed while they were in flight were delivered after all.
            removed = remove() if remove is not None else count
            self.stats.add(sent=count, dropped=removed - count)
            self.attempt = 0
            self.not_before = 0.0
            self.size_cap = min(self.max_burst_batch_size, self.size_cap * 2)
            self.notify("sent", texts, status)
            return "sent"
        if status == 413 and count > 1:
            self.size_cap = max(1, count // 2)
            log.warning("%s: 413 for %d events; retrying in batches of %d", self.name, count, self.size_cap)
            return "smaller"
        if policy.wrong_url(status):
            # The URL is wrong, not the events: kept, with the long backoff.
            self.stats.error(f"HTTP {status} from {result.url}: {result.reply}")
            self.stats.add(retried=1)
            self.attempt += 1
            delay = policy.long_backoff_delay(self.retry_max)
            self.not_before = self.clock() + delay
            log.error("%s: HTTP %s from %s: no such endpoint, the URL looks wrong (an api_url without "
                      "its /v1?); %d events kept, retry %d in %.1fs", self.name, status, result.url or "(unknown)",
                      count, self.attempt, delay)
            self.notify("retrying", texts, status)
            return "retry"
        if policy.retryable(status):
            what = f"HTTP {status}" if status is not None else "network error"
            self.stats.error(f"{what}: {result.reply}")
            self.stats.add(retried=1)
            delay = self._backoff(result.retry_after)
            log.warning("%s: %s sending %d events (%s); retry %d in %.1fs",
                        self.name, what, count, result.reply[:200], self.attempt, delay)
            self.notify("retrying", texts, status)
            return "retry"
        if remove is not None:
            remove()
        self.stats.add(dropped=count)
        self.stats.error(f"HTTP {status}: {result.reply}")
        log.error("%s: HTTP %s is final; dropped %d events. Server said: %s",
                  self.name, status, count, result.reply[:300] or "(nothing)")
        self.notify("dropped", texts, status)
        return "dropped"

    def _backoff(self, retry_after: Optional[float]) -> float:
        self.attempt += 1
        delay = policy.backoff_delay(self.attempt, self.retry_base, self.retry_max)
        floor = policy.retry_after_floor(retry_after)
        if floor is not None:
            delay = max(delay, floor)
            self.server_hold = self.clock() + delay
        self.not_before = self.clock() + delay
        return delay


def _within(rows: List[Row], max_bytes: int) -> List[Row]:
    """The longest prefix of `rows` whose texts add up to at most `max_bytes` (at least
    one row: an event alone is never held back by its batch's bound)."""
    total = 0
    for i, (_, text) in enumerate(rows):
        total += len(text) + 1  # and its comma
        if total > max_bytes and i:
            return rows[:i]
    return rows
