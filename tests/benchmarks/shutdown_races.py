"""Figures for shutdown() and remove()/add() under concurrent use, and for the cost of
identify() on the caller's thread: one line per case, for a before/after table (run it
with PYTHONPATH pointing at either checkout's plugin/; only the public API is used).

    python -m tests.benchmarks.shutdown_races [--rounds 20]
"""
import argparse
import collections
import statistics
import sys
import tempfile
import threading
import time

from segment_statsig import Analytics, StatsigDestination
from segment_statsig.testing import FakeStatsig

from ..waiting import wait_until

SETTINGS = {"integrations": {"Statsig": {"apiKey": "client-race-figures"}}}


def _client(store, url, **options):
    analytics = Analytics(storage_dir=store, settings=SETTINGS, flush_interval=0.05, **options)
    destination = analytics.add(StatsigDestination(api_url=url, retry_base=0.02, retry_max=0.2))
    return analytics, destination


def _wait(condition, timeout=10.0):
    return wait_until(condition, timeout, step=0.002)


def _got(fake, name):
    return collections.Counter((int(e["metadata"]["t"]), int(e["metadata"]["i"]))
                               for e in fake.events if e["eventName"] == f"segment_track:{name}")


def calls_during_shutdown(fake, rounds, timeout):
    lost = twice = raised = calls = 0
    longest = 0.0
    for r in range(rounds):
        store = tempfile.mkdtemp()
        analytics, _ = _client(store, fake.url, flush_at=20)
        name = f"Race {timeout} {r}"
        returned = [[] for _ in range(3)]
        errors, go, closed = [], threading.Event(), threading.Event()

        def caller(t):
            try:
                go.wait()
                after = 0
                for i in range(5000):
                    analytics.track(name, {"t": t, "i": i})
                    returned[t].append(i)
                    if i % 5 == 0:
                        time.sleep(0.001)
                    if closed.is_set():
                        after += 1
                        if after >= 20:
                            return
            except BaseException as error:  # noqa: BLE001 - counted
                errors.append(error)

        threads = [threading.Thread(target=caller, args=(t,)) for t in range(3)]
        for thread in threads:
            thread.start()
        go.set()
        _wait(lambda: all(len(x) >= 30 for x in returned))
        began = time.monotonic()
        analytics.shutdown(timeout=timeout)
        longest = max(longest, time.monotonic() - began)
        closed.set()
        for thread in threads:
            thread.join(30)
        raised += len(errors)
        again, _ = _client(store, fake.url)
        again.flush(timeout=20)
        again.shutdown(timeout=5)
        got = _got(fake, name)
        made = {(t, i) for t in range(3) for i in returned[t]}
        calls += len(made)
        lost += len(made - set(got))
        twice += sum(n - 1 for n in got.values() if n > 1)
    return (f"calls during shutdown({timeout}), {rounds} rounds x 3 threads: {calls} calls returned, "
            f"{lost} lost, {twice} duplicated, {raised} raised, longest shutdown {longest:.3f} s")


def two_closers(fake, rounds):
    unequal = locked = 0
    for r in range(rounds):
        store = tempfile.mkdtemp()
        analytics, _ = _client(store, fake.url, flush_at=1000)
        for i in range(200):
            analytics.track("Closers", {"t": r, "i": i})
        fake.delay_next(0.3)
        outcome, free, probing = {}, {}, threading.Lock()
        barrier = threading.Barrier(2)

        def closer(who):
            barrier.wait(5)
            outcome[who] = analytics.shutdown(timeout=5)
            with probing:
                try:
                    Analytics(storage_dir=store, settings=SETTINGS).shutdown(0.5)
                    free[who] = True
                except ValueError:
                    free[who] = False

        threads = [threading.Thread(target=closer, args=(w,)) for w in "ab"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        unequal += outcome["a"] != outcome["b"]
        locked += (not free["a"]) + (not free["b"])
    return (f"shutdown() from two threads, {rounds} rounds: {unequal} rounds with different outcomes, "
            f"{locked} returns while the folder was still locked")


def readd(fake):
    fake.set_offline(False)
    senders = lambda: sum(1 for t in threading.enumerate() if t.name == "segment-statsig-statsig")  # noqa: E731
    before = senders()
    analytics, destination = _client(tempfile.mkdtemp(), fake.url, flush_at=100)
    fake.set_offline(True)
    for i in range(2000):
        analytics.track("Readd", {"t": 0, "i": i})
    analytics.flush()
    _wait(lambda: destination.stats.snapshot()["retried"] >= 1)
    analytics.remove(destination)
    analytics.add(destination)
    most = senders() - before
    fake.set_offline(False)
    destination.retry_now()
    analytics.flush(timeout=30)
    analytics.shutdown(timeout=5)
    got = _got(fake, "Readd")
    return (f"remove()+add() during an outage, 2,000 events: {2000 - len(got)} lost, "
            f"{sum(n - 1 for n in got.values())} duplicated, {most} sender threads on the queue")


def second_analytics(fake):
    first, destination = _client(tempfile.mkdtemp(), fake.url, flush_at=100)
    second = Analytics(storage_dir=tempfile.mkdtemp(), settings=SETTINGS, flush_interval=0.05, flush_at=100)
    fake.set_offline(True)
    for i in range(500):
        first.track("Shared", {"t": 0, "i": i})
    first.flush()
    _wait(lambda: destination.stats.snapshot()["retried"] >= 1)
    refused = "added"
    try:
        second.add(destination)
    except ValueError:
        refused = "ValueError"
    fake.set_offline(False)
    destination.retry_now()
    first.flush(timeout=30)
    second.flush(timeout=30)
    first.shutdown(timeout=5)
    second.shutdown(timeout=5)
    got = _got(fake, "Shared")
    return (f"one instance added to a second Analytics during an outage, 500 events: add -> {refused}; "
            f"{500 - len(got)} lost, {sum(n - 1 for n in got.values())} duplicated")


def _median_us(call, n):
    times = []
    for _ in range(n):
        began = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - began)
    return statistics.median(times) / 1000


def identify_cost(fake):
    analytics, _ = _client(tempfile.mkdtemp(), fake.url, flush_at=1000)
    small = {"plan": "pro", "seats": 3, "email": "a@b.co"}
    big = {f"k{i}": "v" * 100 for i in range(10_000)}  # about 1 MB
    for _ in range(50):
        analytics.track("Warm")
        analytics.identify("u", small)
    track = _median_us(lambda: analytics.track("Cost", {"i": 1}), 2000)
    ident = _median_us(lambda: analytics.identify("u", small), 500)
    large = _median_us(lambda: analytics.identify("u", big), 30)
    after = _median_us(lambda: analytics.identify("u", small), 200)
    reset = _median_us(analytics.reset, 200)
    analytics.shutdown(timeout=5)
    return (f"caller's thread, median: track {track:.1f} us; identify small {ident:.1f} us; identify 1 MB traits "
            f"{large / 1000:.2f} ms; small identify with 1 MB held {after:.1f} us; reset {reset:.1f} us")


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    with FakeStatsig() as fake:
        for line in (calls_during_shutdown(fake, args.rounds, 5.0), calls_during_shutdown(fake, args.rounds, 0.05),
                     two_closers(fake, 10), readd(fake), second_analytics(fake), identify_cost(fake)):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
