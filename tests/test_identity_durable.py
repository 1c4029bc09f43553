"""identify / alias / reset: no file I/O on the caller's thread (an audit hook records
every file event of that thread), yet durable on return: killed before the worker saved
the user, a restart has the identity the calls left (a real kill -9, and generated
sequences of changes with a simulated crash)."""
import json
import shutil
import sys
import tempfile
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segment_statsig import Analytics
from segment_statsig.storage.files import USER, read_json
from segment_statsig.testing import FakeStatsig
from tests.test_crash import Child

NO_SETTINGS = {"integrations": {}}
# The audit events of file work (sys.audit names): opening, replacing, removing, mapping, locking.
FILE_EVENTS = {"open", "os.rename", "os.remove", "os.truncate", "os.mkdir", "os.chmod", "os.chown", "os.link",
               "os.symlink", "os.listdir", "os.scandir", "os.utime", "mmap.__new__", "fcntl.flock", "fcntl.lockf",
               "shutil.copyfile", "shutil.move"}
_watch = {"thread": None, "seen": [], "hooked": False}


def _hook(event, args):
    if event in FILE_EVENTS and threading.get_ident() == _watch["thread"]:
        _watch["seen"].append((event, args[0] if args else None))


def _watching():
    """Start recording this thread's file events (the hook stays installed: audit hooks cannot be removed)."""
    if not _watch["hooked"]:
        sys.addaudithook(_hook)
        _watch["hooked"] = True
    _watch["seen"] = []
    _watch["thread"] = threading.get_ident()
    return _watch["seen"]


def _stop_watching():
    _watch["thread"] = None


def test_identity_calls_do_no_file_io_on_the_callers_thread(make_client):
    analytics, _ = make_client(flush_at=5)
    big = {f"k{i}": "v" * 100 for i in range(10_000)}  # about 1 MB of traits
    analytics.identify("warm", {"a": 1})  # every path once: a first import opens files
    analytics.alias("warm-2")
    analytics.reset()
    analytics.track("Warm")
    assert analytics.flush(timeout=10)
    seen = _watching()
    try:
        for i in range(40):
            analytics.identify(f"user-{i}", {"plan": "pro", "i": i})
            analytics.track("After Identify", {"i": i})
            if i % 10 == 0:
                analytics.identify(None, big)
            if i % 7 == 0:
                analytics.reset()
            analytics.alias(f"alias-{i}")
            analytics.screen("Home")
    finally:
        _stop_watching()
    assert seen == [], f"{len(seen)} file events on the caller's thread, e.g. {seen[:5]}"
    assert analytics.flush(timeout=10)
    saved = read_json(str(analytics.storage_dir), USER)  # written by the worker meanwhile
    assert saved == {"anonymousId": analytics.anonymous_id, "userId": analytics.user_id, "traits": analytics.traits}


@pytest.mark.parametrize("steps", ["identify,more", "identify,reset", "identify,more,alias", "reset,identify,more"])
def test_identity_is_durable_on_return_through_a_kill(tmp_path, steps):
    store = tmp_path / "store"
    with FakeStatsig() as fake:
        child = Child(store, fake.url, "identify", steps)
        try:
            assert child.ready.wait(30), open(child.stderr.name).read() if child.proc.poll() is not None else "no output"
            expected = json.loads(child.lines[0])
        finally:
            child.kill()
    analytics = Analytics(storage_dir=store, settings=NO_SETTINGS)
    try:
        assert [analytics.anonymous_id, analytics.user_id, analytics.traits] == expected
    finally:
        analytics.shutdown(timeout=2)


_traits = st.dictionaries(st.sampled_from("abcd"),
                          st.one_of(st.none(), st.integers(), st.text(max_size=4), st.lists(st.text(max_size=3), max_size=2)),
                          max_size=3)
_calls = st.lists(st.one_of(
    st.tuples(st.just("identify"), st.one_of(st.none(), st.sampled_from(["u1", "u2"])), _traits),
    st.tuples(st.just("alias"), st.sampled_from(["a1", "a2"])),
    st.tuples(st.just("reset")),
    st.tuples(st.just("track"))), max_size=10)


def _make(analytics, calls):
    for call in calls:
        if call[0] == "identify":
            analytics.identify(call[1], call[2])
        elif call[0] == "alias":
            analytics.alias(call[1])
        elif call[0] == "reset":
            analytics.reset()
        else:
            analytics.track("Between")


def _crash(analytics):
    """What a kill -9 leaves: the journal as written, user.json as the worker last saved it."""
    analytics.journal.close()  # (the worker is held: it neither processes nor saves)
    analytics._lock.release()
    analytics.worker.stopping = True
    analytics.worker.wake.set()
    analytics.worker.thread.join(5)


@given(processed=_calls, unprocessed=_calls)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_crash_before_the_user_was_saved_replays_the_changes(processed, unprocessed):
    store = tempfile.mkdtemp()
    try:
        analytics = Analytics(storage_dir=store, settings=NO_SETTINGS, flush_interval=0.05)
        _make(analytics, processed)
        assert analytics.flush(timeout=10)  # processed: saved, and gone from the journal
        analytics.hold("test")
        _make(analytics, unprocessed)
        expected = [analytics.anonymous_id, analytics.user_id, analytics.traits]
        _crash(analytics)
        again = Analytics(storage_dir=store, settings=NO_SETTINGS, flush_interval=0.05)
        try:
            assert [again.anonymous_id, again.user_id, again.traits] == expected
        finally:
            again.shutdown(timeout=2)
    finally:
        shutil.rmtree(store, ignore_errors=True)
