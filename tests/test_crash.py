"""kill -9 at random points: an app (tests/crash_child.py) calls track() in a loop and
prints each index once the call returned; it is SIGKILLed while it enqueues, while a
send is in flight (the fake answers slowly), and just as Statsig accepted a batch
(while the app removes it from its queue). A last run against a working fake
delivers the rest. Every printed index must arrive at least once; a duplicate is
allowed only for the one batch in flight at each kill (at-least-once; a batch
resent after one kill and accepted just before the next kill is sent a third time).

Default: 4 kills of each kind. ``--long``: 15 of each."""
import collections
import os
import random
import signal
import subprocess
import sys
import threading
import time

from segment_statsig.testing import FakeStatsig

CHILD = os.path.join(os.path.dirname(__file__), "crash_child.py")


class SlowFake(FakeStatsig):
    """Answers every event request after `slow` seconds (accepting nothing when the
    client is gone by then); tells the test when a request arrives and when a batch
    was accepted."""

    def __init__(self, **kw):
        self.slow = 0.0
        self.arrived = threading.Event()
        self.accepted = threading.Event()
        super().__init__(**kw)
        self.on_request(self._seen)

    def _next_fault(self):
        fault = super()._next_fault()
        if fault is None and self.slow:
            return {"kind": "delay", "seconds": self.slow, "status": None}
        return fault

    def _handle_events(self, request):
        self.arrived.set()
        return super()._handle_events(request)

    def _seen(self, record):
        if record.events:
            self.accepted.set()


class Child:
    def __init__(self, store, url, *args):
        # stderr to a file: a pipe nobody reads could fill up and stall the child
        self.stderr = open(f"{store}.stderr", "a+")
        self.proc = subprocess.Popen([sys.executable, CHILD, str(store), url, *map(str, args)],
                                     stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        self.lines = []
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.strip())
            self.ready.set()

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.reader.join(10)
        self.stderr.close()

    def wait(self, timeout):
        try:
            self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.kill()
        self.reader.join(10)
        self.stderr.close()
        return self.proc.returncode

    def printed(self):
        return [int(x) for x in self.lines if x.isdigit()]


def _run_and_kill(fake, store, kind, start, rng):
    """One child run killed at a random point of `kind`; returns the indices it printed."""
    fake.arrived.clear()
    fake.accepted.clear()
    fake.slow = 0.0 if kind == "enqueue" else 0.3
    pace = 0.0 if kind == "enqueue" else 0.002
    child = Child(store, fake.url, "loop", start, pace)
    try:
        assert child.ready.wait(30), open(child.stderr.name).read() if child.proc.poll() is not None else "no output"
        if kind == "enqueue":  # a tight loop of track(): the kill lands mid-call most of the time
            time.sleep(rng.uniform(0.05, 0.4))
        elif kind == "send":  # a slow request in flight
            assert fake.arrived.wait(30)
            time.sleep(rng.uniform(0.0, 0.25))
        else:  # Statsig accepted a batch: the app is about to remove it (or is removing it)
            assert fake.accepted.wait(30)
            time.sleep(rng.uniform(0.0, 0.004))
        assert child.proc.poll() is None, open(child.stderr.name).read()
    finally:
        child.kill()
    assert child.proc.returncode == -signal.SIGKILL
    return child.printed()


def test_sigkill_at_random_points_loses_no_returned_call(tmp_path, long_run):
    rng = random.Random(os.environ.get("CRASH_SEED") or time.time_ns())
    kinds = ["enqueue", "send", "removal"] * (15 if long_run else 4)
    rng.shuffle(kinds)
    store = tmp_path / "store"
    printed = []
    with SlowFake() as fake:
        for run, kind in enumerate(kinds):
            printed.extend(_run_and_kill(fake, store, kind, run * 1_000_000, rng))
        fake.slow = 0.0
        final = Child(store, fake.url, "drain")
        assert final.wait(90) == 0, open(final.stderr.name).read()
        assert final.lines[-1] == "drained True", final.lines
        delivered = collections.Counter(int(e["metadata"]["i"]) for e in fake.events)
        accepted = [r for r in fake.event_requests if r.events]

    missing = sorted(set(printed) - set(delivered))
    duplicated = {i: n for i, n in delivered.items() if n > 1}
    # A repeat: an accepted request carrying events an earlier request had delivered.
    seen, repeats = set(), 0
    for request in accepted:
        batch = {int(event["metadata"]["i"]) for event in request.events}
        repeats += bool(batch & seen)
        seen |= batch
    extra = sum(delivered.values()) - len(delivered)
    kills = collections.Counter(kinds)
    print(f"\ncrash: {len(kinds)} kills {dict(kills)}; {len(printed)} calls returned, "
          f"{len(delivered)} distinct events delivered ({sum(delivered.values())} in all), "
          f"{len(missing)} missing, {len(duplicated)} events delivered more than once "
          f"({extra} extra copies, at most {max(duplicated.values(), default=1)} of one event) "
          f"in {repeats} repeated batches, {len(accepted)} accepted requests")
    assert not missing, f"{len(missing)} returned calls never delivered, e.g. {missing[:10]}"
    with open(f"{store}.stderr") as f:
        errors = f.read()
    # No returned event dropped (queue bound, final status); a torn record of a call
    # killed mid-copy is no returned event.
    assert "queue full" not in errors and "is final" not in errors and "Traceback" not in errors, errors[-2000:]
    # At most one batch (up to max_burst_batch_size=200 while a backlog waits) sent again per kill.
    assert repeats <= len(kinds), repeats
    assert extra <= 200 * repeats
    assert len(printed) > 0


def test_a_restart_that_makes_no_call_delivers_what_the_journal_holds(tmp_path):
    """An app killed before its timeline ran, restarted, and left alone: no call, no
    flush, no shutdown. What the journal holds is delivered once the app has had its
    chance to add destinations (a grace period after the last add())."""
    store = tmp_path / "store"
    with FakeStatsig() as fake:
        maker = Child(store, fake.url, "make", 500, 0)  # the timeline stops at the first event
        assert maker.ready.wait(30) and maker.lines == ["made"], open(maker.stderr.name).read()
        maker.kill()
        assert not fake.events
        idle = Child(store, fake.url, "idle")
        try:
            assert idle.ready.wait(30) and idle.lines == ["idle"], open(idle.stderr.name).read()
            started = time.monotonic()
            arrived = fake.wait_for_events(500, timeout=30)
            took = time.monotonic() - started
        finally:
            idle.kill()
        got = collections.Counter(int(e["metadata"]["i"]) for e in fake.events)
    print(f"\nrestart without a call: {len(got)} of 500 delivered after {took:.1f} s, "
          f"{sum(got.values()) - len(got)} extra copies")
    assert arrived, f"{len(got)} of 500 delivered"
    assert sorted(got) == list(range(500)) and max(got.values()) == 1
