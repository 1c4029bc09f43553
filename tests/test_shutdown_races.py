"""shutdown() and remove()/add() under concurrent use: every call that returned is
delivered exactly once (after a restart on the same folder when shutdown() came
first); two threads calling shutdown() both get its real outcome, and only once the
folder is free; a destination removed and added again (or offered to a second
Analytics) never has two senders on its queue."""
import collections
import threading
import time

import pytest

from segment_statsig import Analytics, StatsigDestination
from segment_statsig.storage.lock import FolderLock, StorageInUse

from .waiting import wait_until

KEY = "client-test-key-0123456789"
SETTINGS = {"integrations": {"Statsig": {"apiKey": KEY}}}
ROUNDS = 20
THREADS = 3
MAX_CALLS = 5_000    # per thread and round, a bound: they call until shutdown() returned, then AFTER more
AFTER = 20           # calls each thread makes once shutdown() has returned


def _client(store, url, **options):
    analytics = Analytics(storage_dir=store, settings=SETTINGS, flush_interval=0.05, **options)
    destination = analytics.add(StatsigDestination(api_url=url, retry_base=0.02, retry_max=0.2))
    return analytics, destination


def _wait(condition, timeout=10.0):
    return wait_until(condition, timeout, step=0.002)


def _delivered(fake, name):
    return collections.Counter((int(e["metadata"]["t"]), int(e["metadata"]["i"]))
                               for e in fake.events if e["eventName"] == f"segment_track:{name}")


@pytest.mark.parametrize("timeout", [5.0, 0.05])  # 0.05: a UI thread's short shutdown, calls still pending
def test_calls_made_while_shutdown_runs_are_each_delivered_once(tmp_path, fake_statsig, timeout):
    lost_total = calls_total = took = 0
    for r in range(ROUNDS):
        store = tmp_path / f"round{r}"
        analytics, _ = _client(store, fake_statsig.url, flush_at=20)
        name = f"During Shutdown {r}"
        returned = [[] for _ in range(THREADS)]
        errors, go, closed = [], threading.Event(), threading.Event()

        def caller(t):
            try:
                go.wait()
                after = 0
                for i in range(MAX_CALLS):
                    analytics.track(name, {"t": t, "i": i})
                    returned[t].append(i)
                    if i % 5 == 0:
                        time.sleep(0.001)  # a few hundred calls per thread while shutdown() runs, not thousands
                    if closed.is_set():
                        after += 1
                        if after >= AFTER:
                            return
            except BaseException as error:  # noqa: BLE001 - reported by the test
                errors.append(error)

        threads = [threading.Thread(target=caller, args=(t,)) for t in range(THREADS)]
        for thread in threads:
            thread.start()
        go.set()
        assert _wait(lambda: all(len(calls) >= 30 for calls in returned))
        began = time.monotonic()
        analytics.shutdown(timeout=timeout)
        took = max(took, time.monotonic() - began)
        closed.set()
        for thread in threads:
            thread.join(30)
        assert not errors, errors[:3]
        calls_total += sum(map(len, returned))

        again, _ = _client(store, fake_statsig.url)  # the same folder: what shutdown left waits here
        assert again.flush(timeout=20)
        assert again.shutdown(timeout=5)
        got = _delivered(fake_statsig, name)
        made = {(t, i) for t in range(THREADS) for i in returned[t]}
        lost = made - set(got)
        twice = {key: n for key, n in got.items() if n > 1}
        lost_total += len(lost)
        assert not lost, f"round {r}: {len(lost)} of {len(made)} returned calls never delivered, e.g. {sorted(lost)[:5]}"
        assert not twice, f"round {r}: sent more than once: {sorted(twice.items())[:5]}"
        assert set(got) <= made
    assert lost_total == 0
    print(f"\nshutdown(timeout={timeout}) races: {ROUNDS} rounds, {calls_total} calls from {THREADS} threads, "
          f"0 lost, 0 twice; the longest shutdown took {took:.3f} s")


def _folder_free(store):
    try:
        FolderLock(str(store)).release()
        return True
    except StorageInUse:
        return False


def test_shutdown_from_two_threads_both_get_the_outcome_once_the_folder_is_free(tmp_path, fake_statsig):
    for r in range(10):
        store = tmp_path / f"round{r}"
        analytics, _ = _client(store, fake_statsig.url, flush_at=1000)
        for i in range(200):
            analytics.track("Two Closers", {"t": r, "i": i})
        fake_statsig.delay_next(0.3)  # the first shutdown() is still flushing when the second comes
        outcome, folder_free, errors = {}, {}, []
        barrier, probing = threading.Barrier(2), threading.Lock()

        def closer(who):
            try:
                barrier.wait(5)
                outcome[who] = analytics.shutdown(timeout=5)
                with probing:  # one probe at a time: the other's probe holds the lock for its moment
                    folder_free[who] = _folder_free(store)
            except BaseException as error:  # noqa: BLE001 - reported by the test
                errors.append(error)

        threads = [threading.Thread(target=closer, args=(who,)) for who in "ab"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not errors, errors
        assert outcome == {"a": True, "b": True}, f"round {r}: {outcome}"
        assert folder_free == {"a": True, "b": True}, f"round {r}: {folder_free}"
        assert analytics.shutdown(timeout=1) is True  # a later call: the same outcome
    got = _delivered(fake_statsig, "Two Closers")
    assert set(got) == {(r, i) for r in range(10) for i in range(200)}
    assert max(got.values()) == 1


def _senders():
    return [t for t in threading.enumerate() if t.name == "segment-statsig-statsig" and t.is_alive()]


def test_a_destination_removed_and_added_again_during_an_outage_sends_each_event_once(tmp_path, fake_statsig):
    before = len(_senders())
    analytics, destination = _client(tmp_path / "store", fake_statsig.url, flush_at=100)
    fake_statsig.set_offline(True)
    for i in range(2000):
        analytics.track("Readded", {"t": 0, "i": i})
    analytics.flush()
    assert _wait(lambda: destination.stats.snapshot()["retried"] >= 1)
    most = 0
    for _ in range(3):
        analytics.remove(destination)
        analytics.add(destination)
        most = max(most, len(_senders()) - before)
        time.sleep(0.05)
    for i in range(2000, 2100):
        analytics.track("Readded", {"t": 0, "i": i})
    fake_statsig.set_offline(False)
    destination.retry_now()
    assert analytics.flush(timeout=30), destination.stats.snapshot()
    most = max(most, len(_senders()) - before)
    got = _delivered(fake_statsig, "Readded")
    assert set(got) == {(0, i) for i in range(2100)}
    twice = sum(1 for n in got.values() if n > 1)
    assert twice == 0, f"{twice} of 2,100 events sent more than once"
    assert most == 1, f"{most} sender threads on one queue"
    analytics.shutdown(timeout=5)


def test_a_destination_added_again_keeps_one_values_thread(tmp_path, fake_statsig):
    fake_statsig.set_gate("new_checkout", True)
    analytics, destination = _client(tmp_path / "store", fake_statsig.url)
    destination.check_gate("new_checkout")
    for _ in range(3):
        analytics.remove(destination)
        analytics.add(destination)
        destination.check_gate("new_checkout")
    values = [t for t in threading.enumerate() if t.name == "segment-statsig-values" and t.is_alive()]
    assert len(values) == 1, f"{len(values)} values threads for one destination"
    assert _wait(lambda: destination.check_gate("new_checkout"))
    analytics.shutdown(timeout=5)


def test_one_destination_instance_offered_to_a_second_analytics(tmp_path, fake_statsig):
    first, destination = _client(tmp_path / "a", fake_statsig.url, flush_at=100)
    second = Analytics(storage_dir=tmp_path / "b", settings=SETTINGS, flush_interval=0.05, flush_at=100)
    fake_statsig.set_offline(True)
    for i in range(500):
        first.track("Shared", {"t": 0, "i": i})
    first.flush()
    assert _wait(lambda: destination.stats.snapshot()["retried"] >= 1)
    with pytest.raises(ValueError, match="another Analytics"):
        second.add(destination)  # its sender still works for the first: one sender per queue
    assert destination not in second.destinations()
    fake_statsig.set_offline(False)
    destination.retry_now()
    assert first.flush(timeout=30)
    assert first.shutdown(timeout=5)
    second.add(destination)  # the first let go of it: now it is the second's
    for i in range(500, 600):
        second.track("Shared", {"t": 0, "i": i})
    assert second.flush(timeout=30)
    assert second.shutdown(timeout=5)
    got = _delivered(fake_statsig, "Shared")
    assert set(got) == {(0, i) for i in range(600)} and max(got.values()) == 1
