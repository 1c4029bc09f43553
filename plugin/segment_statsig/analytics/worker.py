"""The timeline worker: one thread that takes journal lines in call order, runs the
timeline on each (analytics/timeline.py), lets the destinations store what they made
of them, saves the identity those lines changed (user.json), then marks the lines done
in the journal and wakes the senders.

It works in batches. The journal made each call durable on return, so nothing forces
a wake-up per call (on a phone each one costs battery): the worker wakes when flush_at
calls are pending, or when the batch timer (flush_interval, started when the previous
batch was processed) runs out, and then tells the destinations to send that part batch.
It processes at once on flush(), on_background(), shutdown(), an earlier run's lines at
start, and for every call while a plugin asks for prompt events (Plugin.prompt: a plugin
of the app's, a delivery listener). With nothing pending it sleeps with no timer at all.

It starts with the app's first call (or flush, lifecycle hook, shutdown), so that
destinations added right after the constructor see every event. Lines an earlier run
left are processed even when no call comes: GRACE seconds after the app last added
(or removed) a plugin, once it has a destination."""
from __future__ import annotations

TYPE_CHECKING = False  # mypy reads the blocks under it; at run time typing stays unloaded

import logging
import threading
import time

from ..storage import quarantine
from .jsonsafe import compact
from ..storage.records import read_records
from .events import OWN, RESET, to_event
from .plugin import EventPlugin

if TYPE_CHECKING:
    from typing import Optional

    from ..storage.journal import Journal
    from .client import Analytics

log = logging.getLogger("segment_statsig")



BATCH_LINES = 1000  # journal lines per pass (one destination commit each; a burst batch at most)
SLOW_EVENT = 1.0   # seconds: an event that takes longer is named in a warning
GRACE = 5.0        # seconds without a call, after the last add(), before an earlier run's lines are processed
PASS_GRACE = 1.0   # seconds shutdown() waits past its timeout for the pass under way to end


class TimelineWorker:
    def __init__(self, analytics: Analytics) -> None:
        self.analytics = analytics
        self.journal: Journal = analytics.journal  # type: ignore[assignment]  # a live one while the worker runs
        self.wake = threading.Event()
        self.idle = threading.Condition()
        self.lock = threading.Lock()
        self.thread: Optional[threading.Thread] = None
        self.processing = False
        self.flush_requested = False
        self.sync_requested = False
        self.stopping = False
        self.cut_short = False  # stopping past shutdown()'s timeout: no pass after the one under way
        self.asleep = False  # set by the worker before it waits; the caller that wakes it clears it
        self.untimed = False  # asleep with no timer (nothing pending, or held): the next call wakes it
        self.pace_timed = False  # asleep until the destinations' pace ends, a batch waiting for it
        self.calls = 0       # calls since the worker last took lines (approximate: only timing uses it)
        self.threshold = analytics.flush_at  # calls that make a batch (1 while a plugin wants prompt events)
        self.burst = analytics.flush_at  # calls that make a batch while the destinations pace their requests
        self.pace_until = 0.0  # until then they would not send a part batch anyway
        self.due_at: Optional[float] = None  # when the batch timer runs out (None: no timer)
        self.process_requested = False  # process what is pending now (an exposure wants its place)
        self.quarantined = 0  # records the timeline could not process, set aside
        self.purges_asked = self.purges_done = 0
        self.holding = True  # until start(): the app may still be adding destinations
        self.release_at: Optional[float] = None  # with start_later(): when to stop holding anyway

    def start(self) -> None:
        """Process from now on (the app's first call, flush, a lifecycle hook)."""
        with self.lock:
            self.holding = False
            self._spawn()
        self.wake.set()

    def start_later(self) -> None:
        """The journal holds an earlier run's lines: process them after the grace
        period even if no call comes (a restart that only delivers)."""
        with self.lock:
            if self.holding:
                self.release_at = time.monotonic() + GRACE
                self._spawn()

    def plugins_changed(self) -> None:
        """add() / remove(): the app is still setting up; hold a little longer."""
        if self.holding and self.release_at is not None:
            self.release_at = time.monotonic() + GRACE
        if self.thread is not None:
            self.wake.set()

    def _spawn(self) -> None:
        if self.thread is None and not self.stopping:
            self.thread = threading.Thread(target=self._run, name="segment-statsig-timeline", daemon=True)
            self.thread.start()

    def nudge(self) -> None:
        """Caller's thread, after the journal copy: wake the worker only for a full batch
        (held by the destinations' pace, it then sleeps on until the pace ends), or when it
        sleeps with no timer (the first call after an idle spell)."""
        self.calls += 1
        radio = self.analytics.radio
        if self.analytics.flush_policies.radio_aware and radio.in_window():
            # The radio is up anyway: this call rides on it, with the others made in the
            # window, in one request at its end (not one request per call).
            window_end = radio.woke_at + radio.window
            if self.due_at is None or self.due_at > window_end:
                self.due_at = window_end
                self.asleep = self.untimed = False
                self.wake.set()
        elif self.asleep and (self.untimed or self._batch_ready()
                            or (self.calls >= self.threshold and not self.pace_timed)):
            self.asleep = self.untimed = False
            self.wake.set()

    def _batch_ready(self) -> bool:
        """flush_at calls are waiting; or, while the destinations pace their requests (a
        request went out less than a second ago: see delivery/worker.py), a burst batch."""
        calls = self.calls
        return calls >= self.threshold and (calls >= self.burst or time.monotonic() >= self.pace_until)

    def process_pending(self, timeout: float) -> bool:
        """Another thread (the values thread, with exposures to store) wants what is
        journaled so far processed first, so that it keeps its place in call order.
        Returns at once while events are held (consent)."""
        if self.analytics._holds or self.thread is None:
            return False
        self.process_requested = True
        self.wake.set()
        return self.wait_processed(time.monotonic() + timeout)

    def request_flush(self, sync: bool = False) -> None:
        """Process what is journaled, then have every destination send; `sync` also
        fsyncs the journal (the app is going to the background)."""
        self.sync_requested = self.sync_requested or sync
        self.flush_requested = True
        self.wake.set()

    def request_sync(self) -> None:
        """fsync the journal at the next pass (the app is going to the background); the
        flush policies say whether that pass also flushes."""
        self.sync_requested = True
        self.wake.set()

    def wait_processed(self, deadline: float) -> bool:
        """Block until every journaled line is processed (and settings known), or the deadline."""
        settings_ready = self.analytics._settings_ready
        with self.idle:  # notified after every pass
            return self.idle.wait_for(lambda: not self.processing and not self.journal.pending
                                      and settings_ready.is_set(), max(0.0, deadline - time.monotonic()))

    def purge(self, timeout: float) -> bool:
        """Have the worker erase what is undelivered, between two passes; True when done."""
        with self.idle:
            self.purges_asked += 1
            asked = self.purges_asked
        self.wake.set()
        with self.idle:
            return self.idle.wait_for(lambda: self.purges_done >= asked, timeout)

    def _purge(self) -> None:
        analytics = self.analytics
        analytics.identity.save()  # purge erases events, not who the user is
        erased = self.journal.purge()
        for plugin in analytics._all_plugins():
            if isinstance(plugin, EventPlugin):
                try:
                    erased += plugin.purge()
                except Exception:
                    log.exception("plugin %s failed to purge", type(plugin).__name__)
        quarantine.erase(analytics.storage_dir)
        log.info("purge: erased %d undelivered events from the device", erased)

    def stop(self, timeout: float) -> bool:
        """Process what is pending, then end; past `timeout`, end after the pass under way
        (what is left stays in the journal for the next start: nothing is lost). True
        once the thread has ended."""
        with self.lock:
            self.stopping = True
        self.wake.set()
        thread = self.thread
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            self.cut_short = True
            self.wake.set()
            # One pass (BATCH_LINES records, a quick send) is short; a plugin that hangs is not
            # waited for: its pass is replayed at the next start, stored once by message id.
            thread.join(PASS_GRACE)
        return not thread.is_alive()

    def _hold(self) -> None:
        """Until start(), or the grace period is over and there is a destination."""
        while self.holding and not self.stopping:
            # (The thread runs while holding only after start_later(), which set release_at.)
            left = (self.release_at or 0.0) - time.monotonic()
            if left <= 0 and self.analytics.destinations():
                log.info("timeline: processing an earlier run's events (no call came)")
                self.holding = False
                return
            self.wake.wait(left if left > 0 else self.analytics.flush_interval)
            self.wake.clear()

    def _run(self) -> None:
        analytics = self.analytics
        self._hold()
        # Hold events until the destinations know their settings (bounded wait).
        analytics._settings_ready.wait(analytics.settings_timeout)
        analytics._settings_ready.set()
        # An earlier run's lines have waited long enough: processed and sent now. This run's
        # calls made before the thread ran wait for their batch as later ones do (taken for
        # an earlier run's, the first event of every launch went out alone).
        if self.journal.pending and self.journal.earlier_run:
            self.due_at = time.monotonic()
        while True:
            self.wake.clear()
            self.processing = True
            try:
                self._purge_if_asked()
                self.threshold = self._threshold()
                policies = analytics.flush_policies
                if self.journal.pending and self.due_at is None:
                    self.due_at = self._timer()  # the first call after idle
                timer_ran_out = self.due_at is not None and time.monotonic() >= self.due_at
                # flush() asked, the timer ran out, or a policy says so. The timer sends the
                # part batches even with nothing pending here: a pass a full batch started may
                # have taken fewer lines (the calls count is approximate), and what it stored
                # waits for this timer (a destination with nothing queued does nothing).
                flush = self.flush_requested or timer_ran_out or policies.should_flush()
                if self.journal.pending and (flush or self.process_requested or self.stopping
                                             or self._batch_ready()):
                    self.process_requested = False
                    self._drain()
                    # The next batch's timer starts now, so the first call of that batch
                    # need not wake the worker to start it; a part batch still goes within
                    # flush_interval of its first call.
                    self.due_at = self._timer()
                    flush = flush or (bool(policies.watching) and policies.should_flush())
                elif timer_ran_out:
                    self.due_at = None  # it ran out with nothing pending: no timer until a batch
                if flush:  # send it now
                    self.flush_requested = False
                    for plugin in analytics.timeline.all():
                        if isinstance(plugin, EventPlugin):
                            plugin.flush()
                    policies.reset()
                if self.sync_requested:
                    self.sync_requested = False
                    self.journal.sync()
                self._pace()
            except Exception:
                log.exception("timeline worker: unexpected error; continuing")
            finally:
                self.processing = False
                with self.idle:
                    self.idle.notify_all()
            if self.stopping and (self.cut_short or not self.journal.pending):
                return
            self._sleep()

    def _sleep(self) -> None:
        """Until a call fills a batch, the batch timer runs out, or someone asks."""
        analytics = self.analytics
        self.untimed = True
        self.pace_timed = False
        self.asleep = True
        # Read after `asleep` is set: a call that came before is seen here, one after wakes us.
        if self.purges_asked > self.purges_done or self.process_requested or self.flush_requested:
            pass
        elif analytics._holds:
            self.wake.wait()  # held (consent): release() wakes us
        elif not self.journal.pending:
            if self.due_at is None:
                self.wake.wait()  # nothing pending, no timer: the next call wakes us
            else:
                self.untimed = False  # the batch timer runs on, for the calls to come
                self.wake.wait(max(0.0, self.due_at - time.monotonic()))
        elif not self._batch_ready():
            self.untimed = False
            wake_at = self.due_at
            if self.calls >= self.threshold:  # a batch is there, held by the pace alone: until it ends
                wake_at = self.pace_until if wake_at is None else min(wake_at, self.pace_until)
                self.pace_timed = True
            self.wake.wait(max(0.0, wake_at - time.monotonic()) if wake_at is not None else None)
        self.asleep = self.untimed = False

    def _threshold(self) -> int:
        """flush_at; 1 while any plugin or flush policy asks for prompt events (a plugin of
        the app's, a destination with a delivery listener): they see each event as it is made."""
        analytics = self.analytics
        if analytics.flush_policies.prompt:
            return 1
        for plugin in analytics._all_plugins():
            if getattr(plugin, "prompt", False) or getattr(plugin, "_listeners", None):
                return 1
        return analytics.flush_at

    def _timer(self) -> Optional[float]:
        """When the batch timer the flush policies ask for runs out (None: no timer)."""
        interval = self.analytics.flush_policies.flush_interval
        return None if interval is None else time.monotonic() + interval

    def _pace(self) -> None:
        """When the destinations will next send a part batch, and how big a batch they send
        at once meanwhile (a steady high rate: one pass per burst batch, not per flush_at)."""
        found = [getattr(d, "delivery", None) for d in self.analytics.destinations()]
        deliveries = [d for d in found if d is not None]
        if not deliveries or len(deliveries) < len(found) or self.threshold == 1:
            self.pace_until, self.burst = 0.0, self.threshold
            return
        self.pace_until = min(d.last_send + d.min_send_interval for d in deliveries)
        self.burst = min(d.max_burst_batch_size for d in deliveries)

    def _purge_if_asked(self) -> None:
        asked = self.purges_asked
        if asked > self.purges_done:
            self._purge()
            with self.idle:
                self.purges_done = asked

    def _drain(self) -> None:
        analytics = self.analytics
        self.calls = 0
        while not analytics._holds and self.purges_asked == self.purges_done and not self.cut_short:
            lines = self.journal.take(BATCH_LINES)
            if not lines:
                return
            records, damage = read_records(lines)
            if damage:
                log.warning("journal: skipped %s; kept the %d good record%s of that pass",
                            damage, len(records), "" if len(records) == 1 else "s")
            process = analytics.timeline.process
            policies = analytics.flush_policies
            watching = policies.watching
            closures = analytics.call_enrichments  # per-call enrichment closures, by message id
            for record in records:
                event = None
                started = time.monotonic()
                try:
                    if record[0] == RESET:
                        for plugin in analytics._all_plugins():
                            if isinstance(plugin, EventPlugin):
                                plugin.reset()
                    elif record[0] == OWN:
                        event = to_event(record)
                        for destination in analytics.destinations():
                            if destination.key == event.get("destination"):
                                destination.own_event(event["payload"], event)
                    else:
                        event = to_event(record)
                        process(event, closures.pop(event["messageId"], None) if closures else None)
                        if watching:
                            policies.update_state(event)
                except Exception as error:
                    # Set aside, not retried: a record that fails once fails again.
                    kept = quarantine.set_aside(analytics.storage_dir, "timeline", error, compact(record))
                    log.error("timeline: %s failed (%s: %s); %s", quarantine.describe(event or {"type": record[0]}),
                              type(error).__name__, error, "set aside in the quarantine file" if kept else "skipped")
                    self.quarantined += 1
                took = time.monotonic() - started
                if took > SLOW_EVENT:
                    log.warning("timeline: %s took %.1f s to process", quarantine.describe(event), took)
            destinations = analytics.destinations()
            for destination in destinations:
                try:
                    destination.commit()
                except Exception:
                    log.exception("destination %s failed to store events", destination.key)
            # The identity these records changed is saved before they leave the journal,
            # which kept it durable until now.
            analytics.identity.save()
            self.journal.mark_done()
            # Only now: a sender woken earlier could deliver rows that a crash right
            # before mark_done would make the next start replay.
            for destination in destinations:
                destination.committed()
            self.journal.grow_ahead()
