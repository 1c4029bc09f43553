"""Every file of the storage folder, each in turn replaced by something else: a folder, a
unix socket, a FIFO, a symbolic link loop, a file of mode 000, a file cut short, a file of
random bytes. The constructor succeeds (or raises the documented ValueError), a warning
names the file, and tracking and delivery (Statsig and the Segment cloud leg, both on
loopback) still work, without a hang: each case runs under a deadline.

The tests run as root, which reads a mode 000 file all the same: the folder, the FIFO,
the socket and the symbolic link loop are the files that cannot be read at all (and
test_mode_000_unreadable_without_root_powers drops the powers that let root read it).
The files are those storage/files.py names, SQLite's -wal and -shm beside each queue,
and the temporary file of a JSON write.
"""
import json
import logging
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from segment_statsig import Analytics, DestinationPlugin, StatsigDestination
from segment_statsig.storage import files
from segment_statsig.testing import FakeSegmentCDN, FakeStatsig

from .conftest import KEY

WRITE_KEY = "wk-odd-files"
SETTINGS = {"integrations": {"Statsig": {"apiKey": KEY}, "Segment.io": {}}}
NAMES = [files.LOCK, files.JOURNAL, files.JOURNAL_POSITION, files.USER, files.SETTINGS, files.APP, files.PRIVACY,
         files.STATSIG_QUEUE, files.STATSIG_QUEUE + "-wal", files.STATSIG_QUEUE + "-shm",
         files.STATSIG_QUEUE + files.QUEUE_DELIVERED, files.SEGMENT_QUEUE, files.SEGMENT_QUEUE + files.QUEUE_DELIVERED,
         files.STATSIG_VALUES + "*", files.QUARANTINE, files.USER + ".tmp"]
KINDS = ["folder", "socket", "fifo", "symlink loop", "mode 000", "cut short", "random bytes"]
# Damage nothing reads, that costs nothing, so nothing is said: the lock cut short still
# holds a process id (or nothing); the journal at shutdown holds no unprocessed record (a
# cut through records is test_journal_damage.py's); a temporary file is rewritten whole.
SILENT = {(files.LOCK, "cut short"), (files.JOURNAL, "cut short"),
          (files.USER + ".tmp", "cut short"), (files.USER + ".tmp", "random bytes")}
DEADLINE = 60


class Poisoned(DestinationPlugin):
    """Fails on events marked poison: they go to the quarantine file."""
    key = "Poisoned"

    def track(self, event):
        if event["properties"].get("poison"):
            raise RuntimeError("poisoned")
        return event


@pytest.fixture(scope="module")
def fakes():
    with FakeStatsig() as statsig, FakeSegmentCDN({WRITE_KEY: SETTINGS}) as cdn:
        statsig.set_gate("odd_gate", True)
        yield statsig, cdn


def run(store, statsig, cdn, tag, n=3):
    """One app run: a gate check, n tracks, an identify, a poisoned event; delivered."""
    analytics = Analytics(WRITE_KEY, storage_dir=store, cdn_url=cdn.url, api_url=cdn.api_url, flush_interval=0.05,
                          track_lifecycle_events=True, app_info={"version": "1.0", "build": "1"})
    try:
        destination = analytics.add(StatsigDestination(api_url=statsig.url, retry_base=0.02, retry_max=0.2))
        analytics.add(Poisoned())
        destination.check_gate("odd_gate")
        assert destination.wait_for_values(10)  # its cache read (or skipped, damaged), then the network
        for i in range(n):
            analytics.track(tag, {"i": i})
        analytics.identify(f"user-{tag}", {"plan": "pro"})
        analytics.track("Poison", {"poison": True})
        analytics.enabled = True
        return analytics, analytics.flush(timeout=15)
    except BaseException:
        analytics.shutdown(2)
        raise


@pytest.fixture(scope="module")
def template(tmp_path_factory, fakes):
    """Two copies of a storage folder that has every file: as the app leaves it at
    shutdown, and as it is while the app runs (SQLite's -wal and -shm there). One
    values cache, the one the next run reads (its user's)."""
    statsig, cdn = fakes
    store = tmp_path_factory.mktemp("odd-template") / "store"
    analytics, delivered = run(store, statsig, cdn, "Seed")
    analytics.shutdown(2)
    assert delivered
    for name in os.listdir(store):
        if name.startswith(files.STATSIG_VALUES):
            os.unlink(store / name)
    analytics = Analytics(WRITE_KEY, storage_dir=store, cdn_url=cdn.url, api_url=cdn.api_url, flush_interval=0.05)
    try:
        destination = analytics.add(StatsigDestination(api_url=statsig.url, retry_base=0.02, retry_max=0.2))
        destination.check_gate("odd_gate")
        analytics.track("Seed Again")
        assert analytics.flush(timeout=10)
        deadline = time.monotonic() + 10  # the values arrive on their own thread
        while not any(p.startswith(files.STATSIG_VALUES) and p.endswith(".json") for p in os.listdir(store)):
            assert time.monotonic() < deadline, os.listdir(store)
            time.sleep(0.02)
        running = tmp_path_factory.mktemp("odd-running") / "store"
        shutil.copytree(store, running, ignore=shutil.ignore_patterns("*.tmp"))
    finally:
        analytics.shutdown(2)
    stopped = tmp_path_factory.mktemp("odd-stopped") / "store"
    shutil.copytree(store, stopped)
    for name in NAMES:
        if not name.endswith(".tmp"):
            assert targets(running, name), (name, os.listdir(running))
    statsig.clear()
    cdn.clear()
    return {"running": running, "stopped": stopped}


def targets(store, name):
    if name.endswith("*"):
        return [os.path.join(store, p) for p in os.listdir(store) if p.startswith(name[:-1]) and p.endswith(".json")]
    return [os.path.join(store, name)]


def damage(path, kind, seed):
    """Replace (or damage in place) the file at `path`; keeps a handle alive for a socket."""
    existed = os.path.lexists(path)
    if kind in ("cut short", "random bytes"):
        if not existed:  # a temporary file: made, then damaged
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
            os.write(fd, b'{"anonymousId": "x", "traits": {}}')
            os.close(fd)
        size = os.path.getsize(path)
        with open(path, "r+b") as f:  # in place: the file keeps its mode (0600)
            if kind == "cut short":
                f.truncate(max(1, size // 2) if size > 16 else max(1, size - 3))
            else:
                blob = random.Random(seed).randbytes(max(size, 4096) if size > 16 else size)
                f.write(blob[:-1] + (b"\xff" if blob[-1:] == b"\n" else blob[-1:]))
        return None
    if existed:
        os.unlink(path)
    if kind == "folder":
        os.mkdir(path)
        open(os.path.join(path, "inside"), "w").close()
    elif kind == "socket":  # bound where the name is short (AF_UNIX limits it), then moved in place
        short = tempfile.mkdtemp(dir="/tmp")
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(os.path.join(short, "s"))
        os.rename(os.path.join(short, "s"), path)
        os.rmdir(short)
        return sock
    elif kind == "fifo":
        os.mkfifo(path, 0o600)
    elif kind == "symlink loop":
        os.symlink(os.path.basename(path), path)
    elif kind == "mode 000":
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"{}")
        os.close(fd)
        os.chmod(path, 0)
    return None


def within_deadline(body):
    """Run body() on a thread; fail (rather than hang) past DEADLINE seconds."""
    result = {}

    def target():
        try:
            result["value"] = body()
        except BaseException as error:  # handed to the test's thread
            result["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(DEADLINE)
    assert not thread.is_alive(), f"still running after {DEADLINE} s (blocked on a file?)"
    if "error" in result:
        raise result["error"]
    return result["value"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", NAMES)
def test_odd_storage_file(tmp_path, template, fakes, log_records, name, kind):
    statsig, cdn = fakes
    statsig.clear()
    cdn.clear()
    store = tmp_path / "store"
    # SQLite's -wal and -shm exist while the app runs; at shutdown the queue is one file
    shutil.copytree(template["running" if name.endswith(("-wal", "-shm")) else "stopped"], store)
    paths = targets(store, name)
    keep = [damage(path, kind, seed=f"{name}/{kind}") for path in paths]

    def body():
        analytics, delivered = run(store, statsig, cdn, "After")
        try:
            return delivered, analytics.user_id
        finally:
            analytics.shutdown(2)

    try:
        delivered, user_id = within_deadline(body)
    finally:
        for sock in keep:
            if sock is not None:
                sock.close()
    assert delivered
    got = [e["metadata"]["i"] for e in statsig.events if e["eventName"] == "segment_track:After"]
    assert got == ["0", "1", "2"]
    to_segment = [e["properties"]["i"] for b in cdn.batches for e in b["batch"] if e.get("event") == "After"]
    assert to_segment == [0, 1, 2]
    said = "\n".join(r.getMessage() for r in log_records.records if r.levelno >= logging.WARNING)
    for path in paths:
        assert (os.path.basename(path) in said) != ((name, kind) in SILENT), said
    # What depends on the file works again: the identity is kept, the quarantine takes its record.
    assert json.loads((store / files.USER).read_text())["userId"] == user_id == "user-After"
    assert b'"Poison"' in (store / files.QUARANTINE).read_bytes()


def test_mode_000_unreadable_without_root_powers(tmp_path, template, fakes):
    """Without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (setpriv), mode 000 is unreadable
    even to root: every file at mode 000 at once; the child runs the same app run."""
    statsig, cdn = fakes
    if shutil.which("setpriv") is None:
        pytest.fail("setpriv (util-linux) is needed to drop root's powers over file modes")
    statsig.clear()
    cdn.clear()
    store = tmp_path / "store"
    shutil.copytree(template["stopped"], store)
    names = sorted(os.listdir(store))
    for name in names:
        os.chmod(store / name, 0)
    script = (
        "import logging, sys\n"
        "sys.path[:0] = [%r]\n"
        "from tests.test_storage_odd_files import run\n"
        "from segment_statsig.testing import FakeStatsig\n"
        "logging.basicConfig(level=logging.WARNING, format='%%(message)s')\n"
        "class Url: pass\n"
        "statsig, cdn = Url(), Url()\n"
        "statsig.url, cdn.url, cdn.api_url = sys.argv[2], sys.argv[3], sys.argv[3]\n"
        "import os\n"
        "try:\n"
        "    open(os.path.join(sys.argv[1], %r)).read(); print('READABLE')\n"
        "except PermissionError: print('UNREADABLE')\n"
        "analytics, delivered = run(sys.argv[1], statsig, cdn, 'After')\n"
        "analytics.shutdown(2)\n"
        "print('DELIVERED' if delivered else 'NOT DELIVERED')\n"
    ) % (os.path.dirname(os.path.dirname(os.path.abspath(__file__))), files.USER)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run(["setpriv", "--inh-caps=-dac_override,-dac_read_search",
                           "--bounding-set=-dac_override,-dac_read_search", sys.executable, "-c", script,
                           str(store), statsig.url, cdn.url], capture_output=True, text=True, timeout=DEADLINE, env=env)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.split()
    assert out[0] == "UNREADABLE" and out[-1] == "DELIVERED", (proc.stdout, proc.stderr)
    for name in names:
        assert name in proc.stderr, (name, proc.stderr)
    got = [e["metadata"]["i"] for e in statsig.events if e["eventName"] == "segment_track:After"]
    assert got == ["0", "1", "2"]
