"""Storage faults: a queue file corrupted or truncated (quarantined as
``*.corrupt-<time>``, a warning, a new queue, nothing raised in the app) and a
storage folder that is read-only or full (events kept in memory with a warning, and
delivered).

Read-only and full folders are real: as root, a read-only bind mount and a small
tmpfs (ENOSPC); without root, a folder without write permission and RLIMIT_FSIZE
(EFBIG, the same code paths as a full disk)."""
import contextlib
import os
import resource
import signal
import subprocess

import pytest

from segment_statsig import Analytics, StatsigDestination

from .conftest import KEY

QUEUE = "statsig-queue.sqlite3"


def make(store, fake, **options):
    analytics = Analytics(storage_dir=store, settings={"integrations": {"Statsig": {"apiKey": KEY}}},
                          flush_interval=0.05, **options)
    destination = analytics.add(StatsigDestination(api_url=fake.url, retry_base=0.02, retry_max=0.2))
    return analytics, destination


def delivered_one_then_queued_while_down(analytics, fake, waiting, name, pad):
    """Event 0 delivered (the queue file exists and has worked), then Statsig down and
    events 1 .. waiting-1 (each with `pad`) queued and not delivered."""
    analytics.track("Before", {"i": 0})
    assert analytics.flush(timeout=10)
    fake.set_offline(True)
    for i in range(1, waiting):
        analytics.track(name, {"i": i, "pad": pad})
    assert not analytics.flush(timeout=0.3)


def indices(fake):
    return [int(e["metadata"]["i"]) for e in fake.events]


def warnings(caplog):
    return "\n".join(r.getMessage() for r in caplog.records if r.levelname in ("WARNING", "ERROR"))


def _can_mount():
    if os.geteuid() != 0:
        return False
    probe = "/tmp/.segment-statsig-mount-probe"
    os.makedirs(probe, exist_ok=True)
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe], capture_output=True).returncode == 0
    if ok:
        subprocess.run(["umount", probe], check=True)
    return ok


CAN_MOUNT = _can_mount()


@contextlib.contextmanager
def read_only(path):
    """`path` (existing files and all) becomes read-only."""
    if CAN_MOUNT:
        subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], check=True)
            yield "read-only bind mount"
        finally:
            subprocess.run(["umount", "-l", str(path)], check=True)
    else:
        mode = os.stat(path).st_mode
        os.chmod(path, 0o500)
        for name in os.listdir(path):
            os.chmod(os.path.join(path, name), 0o400)
        try:
            yield "folder and files without write permission"
        finally:
            os.chmod(path, mode)
            for name in os.listdir(path):
                os.chmod(os.path.join(path, name), 0o600)


class _Tmpfs:
    """A folder on a small tmpfs that fill() makes full (ENOSPC) and free() empties again."""

    def __init__(self, path):
        self.filler = os.path.join(path, "filler")

    def fill(self):
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (65536, 4096, 512, 1):
                try:
                    while True:
                        os.write(fd, b"\0" * size)
                except OSError:
                    pass
        finally:
            os.close(fd)

    def free(self):
        os.unlink(self.filler)


class _FileSizeLimit:
    """Without root: RLIMIT_FSIZE 0 makes every further write fail (EFBIG, the same
    code paths as a full disk); free() lifts it."""

    def __init__(self, limits):
        self.limits = limits

    def fill(self):
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, self.limits[1]))

    def free(self):
        resource.setrlimit(resource.RLIMIT_FSIZE, self.limits)


@contextlib.contextmanager
def small_disk(path, size="256k"):
    """A folder on a small tmpfs (root), else a plain folder; the disk it yields
    fills (every further write fails) and frees on demand."""
    os.makedirs(path, exist_ok=True)
    if CAN_MOUNT:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)], check=True)
        try:
            yield _Tmpfs(path)
        finally:
            subprocess.run(["umount", "-l", str(path)], check=True)
    else:
        print("\nno tmpfs (not root, or mount refused): a file size limit stands in for a full disk")
        limits = resource.getrlimit(resource.RLIMIT_FSIZE)
        handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        try:
            yield _FileSizeLimit(limits)
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, limits)
            signal.signal(signal.SIGXFSZ, handler)


def _quarantined(store):
    return sorted(name for name in os.listdir(store) if name.startswith(QUEUE + ".corrupt-"))


def test_garbage_queue_file_is_quarantined_and_a_new_queue_delivers(tmp_path, fake_statsig, log_records):
    store = tmp_path / "store"
    store.mkdir()
    (store / QUEUE).write_bytes(b"this is not a database, it is garbage " * 200)
    analytics, destination = make(store, fake_statsig)
    try:
        for i in range(5):
            analytics.track("After Corruption", {"i": i})
        assert analytics.flush(timeout=10)
        assert indices(fake_statsig) == list(range(5))
        (moved,) = _quarantined(store)
        assert (store / moved).read_bytes().startswith(b"this is not a database")
        assert f"moved to {moved}" in warnings(log_records)
        assert destination.queue_depth == 0
    finally:
        analytics.shutdown(2)


def _queue_with_undelivered(store, fake, n=300):
    fake.set_offline(True)
    analytics, destination = make(store, fake)
    for i in range(n):
        analytics.track("Left Over", {"i": i, "pad": "p" * 200})
    assert not analytics.flush(timeout=0.5)
    assert destination.queue_depth == n
    analytics.shutdown(0.5)
    fake.set_offline(False)
    # Everything into the main file, as after a clean exit.
    import sqlite3

    db = sqlite3.connect(store / QUEUE)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


@pytest.mark.parametrize("cut", ["half", "header only", "mid header"])
def test_truncated_queue_file_is_quarantined_and_the_app_goes_on(tmp_path, fake_statsig, log_records, cut):
    store = tmp_path / "store"
    _queue_with_undelivered(store, fake_statsig)
    fake_statsig.clear()
    size = (store / QUEUE).stat().st_size
    keep = {"half": size // 2, "header only": 4096, "mid header": 50}[cut]
    os.truncate(store / QUEUE, keep)
    analytics, destination = make(store, fake_statsig)
    try:
        for i in range(1000, 1005):
            analytics.track("After Truncation", {"i": i})
        assert analytics.flush(timeout=10)
        assert indices(fake_statsig)[-5:] == list(range(1000, 1005))
        assert _quarantined(store), os.listdir(store)
        assert "salvaging its readable rows" in warnings(log_records)
        assert destination.queue_depth == 0
    finally:
        analytics.shutdown(2)


def test_queue_file_corrupted_while_the_app_runs(tmp_path, fake_statsig, log_records):
    store = tmp_path / "store"
    analytics, destination = make(store, fake_statsig)
    try:
        delivered_one_then_queued_while_down(analytics, fake_statsig, 50, "Queued", "q" * 100)
        # Something scribbles over the database and its WAL under the open connection.
        for name in (QUEUE, QUEUE + "-wal"):
            with open(store / name, "r+b") as f:
                f.write(os.urandom(8192))
        fake_statsig.set_offline(False)
        for i in range(100, 105):
            analytics.track("After", {"i": i})
        assert analytics.flush(timeout=10), destination.stats.snapshot()
        got = indices(fake_statsig)
        assert got[0] == 0 and got[-5:] == list(range(100, 105))
        assert len(got) == len(set(got))
    finally:
        analytics.shutdown(2)


def test_read_only_folder_from_the_start_keeps_events_in_memory_and_delivers(tmp_path, fake_statsig, log_records):
    store = tmp_path / "store"
    store.mkdir()
    with read_only(store) as how:
        analytics, destination = make(store, fake_statsig)
        try:
            for i in range(20):
                analytics.track("Read Only", {"i": i})
            assert analytics.flush(timeout=10), how
            assert indices(fake_statsig) == list(range(20))
            assert "keeping state in memory" in warnings(log_records)
            assert os.listdir(store) == []
        finally:
            analytics.shutdown(2)


def test_folder_turned_read_only_with_a_queue_in_it_keeps_that_queue_for_later(tmp_path, fake_statsig, log_records):
    """While the folder is read-only, new events go through memory; what an earlier run
    left on disk is neither lost nor sent twice: the next start with a writable folder
    delivers it."""
    store = tmp_path / "store"
    _queue_with_undelivered(store, fake_statsig, n=30)
    fake_statsig.clear()
    with read_only(store) as how:
        analytics, destination = make(store, fake_statsig)
        try:
            for i in range(1000, 1010):
                analytics.track("Read Only", {"i": i})
            assert analytics.flush(timeout=10), (how, destination.stats.snapshot())
            assert indices(fake_statsig) == list(range(1000, 1010))
            assert "keeping state in memory" in warnings(log_records)
        finally:
            analytics.shutdown(2)
    analytics, destination = make(store, fake_statsig)
    try:
        analytics.track("Writable Again", {"i": 2000})
        assert analytics.flush(timeout=10)
        assert indices(fake_statsig) == list(range(1000, 1010)) + list(range(30)) + [2000]
    finally:
        analytics.shutdown(2)


def test_full_folder_from_the_start_keeps_events_in_memory_and_delivers(tmp_path, fake_statsig, log_records):
    store = tmp_path / "store"
    with small_disk(store) as disk:
        disk.fill()
        analytics, destination = make(store, fake_statsig)
        try:
            for i in range(300):
                analytics.track("Disk Full", {"i": i, "pad": "f" * 300})
            assert analytics.flush(timeout=10)
            assert indices(fake_statsig) == list(range(300))
            assert "not durable" in warnings(log_records)
        finally:
            analytics.shutdown(2)


def test_folder_filling_up_while_the_app_runs_loses_nothing(tmp_path, fake_statsig, log_records):
    store = tmp_path / "store"
    with small_disk(store) as disk:
        analytics, destination = make(store, fake_statsig)
        try:
            delivered_one_then_queued_while_down(analytics, fake_statsig, 100, "Filling", "f" * 300)
            disk.fill()
            for i in range(100, 400):
                analytics.track("Full", {"i": i, "pad": "f" * 300})
            fake_statsig.set_offline(False)
            assert analytics.flush(timeout=15), destination.stats.snapshot()
            got = indices(fake_statsig)
            assert sorted(set(got)) == list(range(400))  # nothing lost
            # A batch in flight when the disk fills is not sent twice: its rows, which
            # the full disk cannot delete, are marked delivered (storage/queue.py), and
            # the rows the queue file holds are delivered from it, not copied.
            assert len(got) == len(set(got)), len(got) - len(set(got))
            assert "not durable" in warnings(log_records)
        finally:
            analytics.shutdown(2)


def test_queue_that_fails_mid_run_loses_no_event(tmp_path, fake_statsig, log_records):
    """SQLite reports the file malformed while the app runs (what a corruption it can
    no longer hide from its cache looks like): every read and write of that queue
    fails from then on. New events and those it still holds in the journal go on
    through memory; nothing is raised and no worker dies."""
    import sqlite3

    store = tmp_path / "store"
    analytics, destination = make(store, fake_statsig)
    try:
        analytics.track("Before", {"i": 0})
        assert analytics.flush(timeout=10)
        queue = destination._get_queue()
        assert queue.durable

        def broken(*args, **kwargs):
            raise sqlite3.DatabaseError("database disk image is malformed")

        queue.put_many = queue.peek = queue.remove = broken
        for i in range(1, 40):
            analytics.track("During", {"i": i})
        assert analytics.flush(timeout=10), destination.stats.snapshot()
        assert indices(fake_statsig) == list(range(40))
        assert "not durable" in warnings(log_records)
        assert analytics.worker.thread.is_alive() and destination.delivery.thread.is_alive()
    finally:
        analytics.shutdown(2)
