"""A real full disk: a small tmpfs as root (else RLIMIT_FSIZE,
the same code paths; see tests/test_storage_faults.py), filled while the app runs and
freed again.

What the journal and the queue file held when the disk filled is delivered once: the
journal's lines are marked done whatever happens to its growth, the queue file's rows
are delivered from it (not copied into memory, which the next start would send again),
and a delivered row the full disk cannot delete is marked delivered. The warnings say
the disk is full."""
import pytest

from .test_storage_faults import delivered_one_then_queued_while_down, indices, make, small_disk, warnings


@pytest.mark.parametrize("after", [500, 3000], ids=["queue fills", "journal fills too"])
def test_disk_full_then_free_again_sends_nothing_twice_and_says_disk_full(tmp_path, fake_statsig, log_records, after):
    """The disk fills while Statsig is down and 1,500 events wait in the queue; later
    calls go through memory (500 still fit the journal's allocation; 3,000 make it
    grow, which the full disk refuses). Everything is delivered; once the disk has
    room again, the next start sends nothing a second time (what the journal and the
    queue file still held was delivered from memory and must be known as done). The
    warnings say the disk is full."""
    store = tmp_path / "store"
    with small_disk(store, size="4m") as disk:
        analytics, destination = make(store, fake_statsig)
        try:
            delivered_one_then_queued_while_down(analytics, fake_statsig, 1500, "Waiting", "w" * 300)
            disk.fill()
            for i in range(1500, 1500 + after):
                analytics.track("Full", {"i": i, "pad": "f" * 300})
            fake_statsig.set_offline(False)
            assert analytics.flush(timeout=30), destination.stats.snapshot()
        finally:
            analytics.shutdown(2)
        first_run = indices(fake_statsig)
        disk.free()
        fake_statsig.clear()
        again, _ = make(store, fake_statsig)
        try:
            again.track("Room Again", {"i": 5000})
            assert again.flush(timeout=30)
        finally:
            again.shutdown(2)
        resent = [i for i in indices(fake_statsig) if i != 5000]
    said = warnings(log_records)
    print(f"\ndisk full: {len(set(first_run))} of {1500 + after} delivered, {len(first_run) - len(set(first_run))} twice "
          f"in the run; {len(resent)} sent again by the next start; "
          f"'disk is full' said: {'disk is full' in said}; 'cannot rollback' said: {'cannot rollback' in said}")
    assert sorted(set(first_run)) == list(range(1500 + after))
    assert len(first_run) == len(set(first_run))  # the batch in flight when the disk filled too
    assert not resent, f"{len(resent)} events sent again after the restart"
    assert "disk is full" in said and "cannot rollback" not in said, said[-3000:]


def test_room_again_while_the_app_runs_makes_the_queue_durable_again(tmp_path, fake_statsig, log_records, monkeypatch):
    """The disk fills, then has room again while the app runs: once what waited in
    memory is delivered, the queue file takes new events again (durable again), and
    the rows delivered while it was full are deleted from it."""
    from segment_statsig.storage import fallback

    monkeypatch.setattr(fallback, "RETRY", 0.0)
    store = tmp_path / "store"
    with small_disk(store, size="4m") as disk:
        analytics, destination = make(store, fake_statsig)
        try:
            fake_statsig.set_offline(True)
            for i in range(300):
                analytics.track("Waiting", {"i": i, "pad": "w" * 300})
            assert not analytics.flush(timeout=0.5)
            disk.fill()
            for i in range(300, 400):
                analytics.track("Full", {"i": i})
            assert not analytics.flush(timeout=0.3)
            assert not destination._get_queue().durable
            fake_statsig.set_offline(False)
            assert analytics.flush(timeout=15)
            disk.free()
            for i in range(400, 450):
                analytics.track("Room Again", {"i": i})
            assert analytics.flush(timeout=15)
            queue = destination._get_queue()
            assert queue.durable and not queue.gone_upto, queue
            assert sorted(indices(fake_statsig)) == list(range(450))
            said = warnings(log_records)
            assert "takes writes again" in said and "marked delivered" in said, said[-3000:]
        finally:
            analytics.shutdown(2)
