"""One storage folder, one Analytics.

The journal and the queues belong to one Analytics at a time: it holds an exclusive
lock on the folder (fcntl.flock on its `lock` file) from construction to shutdown();
a killed process lets go of it with its last file. A second Analytics on a folder in
use, in another process or in the same one, is refused with a clear ValueError
before it accepts a single call, so no call is ever accepted that could not be made
durable.

Processes race for one folder (tests/crash_child.py), are killed with kill -9 in
rounds, and a last one delivers the rest: every index a child printed (its track()
had returned) arrives, none twice but for the batch in flight at a kill.
"""
import collections
import os
import random
import time

import pytest

from segment_statsig import Analytics

from .test_crash import Child, SlowFake


def _outcome(child, timeout=30):
    """'ready' or 'refused <why>': the child's first line."""
    assert child.ready.wait(timeout), open(child.stderr.name).read()
    return child.lines[0]


def _deliver_rest(fake, store):
    fake.slow = 0.0
    final = Child(store, fake.url, "drain")
    assert final.wait(90) == 0, open(final.stderr.name).read()
    assert final.lines[-1] == "drained True", final.lines
    return collections.Counter(int(e["metadata"]["i"]) for e in fake.events)


def _report(what, printed, delivered, kills):
    missing = sorted(set(printed) - set(delivered))
    extra = sum(delivered.values()) - len(delivered)
    print(f"\n{what}: {len(printed)} calls returned, {len(missing)} missing, {extra} extra copies, {kills} kills")
    return missing, extra


def test_a_second_process_is_refused_and_nothing_is_lost_or_doubled(tmp_path):
    store = tmp_path / "store"
    with SlowFake() as fake:
        first = Child(store, fake.url, "loop", 0, 0.001)
        second = None
        try:
            assert _outcome(first) == "ready"
            second = Child(store, fake.url, "loop", 1_000_000, 0.001)
            said = _outcome(second)
            assert second.wait(10) == 3, said
            assert said.startswith("refused ") and "in use" in said and str(first.proc.pid) in said, said
            time.sleep(0.5)
        finally:
            for child in (first, second):
                if child is not None and child.proc.poll() is None:
                    child.kill()
        delivered = _deliver_rest(fake, store)
    printed = first.printed() + second.printed()
    missing, extra = _report("two processes", printed, delivered, 1)
    assert not second.printed()
    assert not missing, missing[:10]
    assert extra <= 50, extra  # at most the batch in flight at the kill


def test_kill_rounds_with_two_processes_racing_for_one_folder(tmp_path, long_run):
    rng = random.Random(os.environ.get("CRASH_SEED") or time.time_ns())
    rounds = 16 if long_run else 6
    store = tmp_path / "store"
    printed = []
    with SlowFake() as fake:
        fake.slow = 0.05
        for r in range(rounds):
            children = [Child(store, fake.url, "loop", (2 * r + k) * 1_000_000, 0.001) for k in (0, 1)]
            try:
                outcomes = [_outcome(c) for c in children]
                assert sorted(o.split()[0] for o in outcomes) == ["ready", "refused"], outcomes
                time.sleep(rng.uniform(0.1, 0.5))
            finally:
                for child in rng.sample(children, 2):
                    if child.proc.poll() is None:
                        child.kill()
                    else:
                        child.wait(5)
                    printed.extend(child.printed())
        delivered = _deliver_rest(fake, store)
    missing, extra = _report(f"{rounds} rounds of two racing processes", printed, delivered, rounds)
    assert not missing, f"{len(missing)} returned calls never delivered, e.g. {missing[:10]}"
    assert extra <= 50 * rounds, extra
    with open(f"{store}.stderr") as f:
        errors = f.read()
    assert "Traceback" not in errors and "queue full" not in errors, errors[-2000:]


def test_a_second_analytics_in_one_process_is_refused_until_the_first_shuts_down(tmp_path):
    store = tmp_path / "store"
    first = Analytics(storage_dir=store)
    try:
        with pytest.raises(ValueError, match="in use by another Analytics in this process"):
            Analytics(storage_dir=store)
        first.track("Before Shutdown")
    finally:
        assert first.shutdown(2)
    first.track("After Shutdown")  # journaled for the next start, under the lock for that moment
    second = Analytics(storage_dir=store)
    try:
        from .test_analytics_core import Capture

        capture = second.add(Capture())
        assert second.flush(timeout=5)
        assert [e["event"] for e in capture.events] == ["After Shutdown"]
    finally:
        second.shutdown(2)


def test_an_analytics_dropped_without_shutdown_leaves_the_folder_free(tmp_path):
    import gc

    Analytics(storage_dir=tmp_path / "store")  # no call, no destination: nothing keeps it alive
    gc.collect()
    again = Analytics(storage_dir=tmp_path / "store")
    again.shutdown(1)
