"""A damaged journal loses only the damaged records.

An app (tests/crash_child.py) journals 3,000 calls of ~200 bytes and is killed with
kill -9 before its timeline processed them (or after it processed and delivered the
first passes). Its storage folder is copied once per case and damaged the way disks
and flash damage files: a run of NUL bytes, a zeroed page, random blobs, a file cut
short, garbage past the last record, and a damaged, missing or zeroed journal.pos. A
fresh process then delivers what it can.

Every record no damaged byte touched must arrive exactly once; a touched record may
be lost, never sent twice; the log says how many were skipped and why. Each case
prints `lost / duplicated / touched`.
"""
import collections
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import time

import pytest

from segment_statsig.testing import FakeStatsig

CHILD = os.path.join(os.path.dirname(__file__), "crash_child.py")
N = 3000


def _run(store, url, *args, wait_for=None, timeout=60):
    """Run the child; with `wait_for`, kill -9 it once it printed that line (returns
    its output), else wait for it to exit."""
    proc = subprocess.Popen([sys.executable, CHILD, str(store), url, *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if wait_for is None:
        out, err = proc.communicate(timeout=timeout)
        return out, err
    line = proc.stdout.readline()
    assert line.strip() == wait_for, (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc


def _kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def _delivered(fake):
    return collections.Counter(int(e["metadata"]["i"]) for e in fake.events)


def _wait_quiet(fake, at_least, timeout=30):
    """Until the fake has `at_least` events and no more arrive for half a second."""
    deadline = time.monotonic() + timeout
    count, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = len(fake.events)
        if now != count:
            count, since = now, time.monotonic()
        elif count >= at_least and time.monotonic() - since > 0.5:
            return count
        time.sleep(0.05)
    raise AssertionError(f"delivery did not settle: {count} events")


@pytest.fixture(scope="module")
def journaled(tmp_path_factory):
    """{hold: (store, indices delivered before the kill)}: hold=0 leaves all 3,000 in
    the journal; hold=1500 lets the timeline process (and deliver) the passes before
    the 1,500th event first, so journal.pos is past the start."""
    made = {}
    for hold in (0, 1500):
        store = tmp_path_factory.mktemp(f"journal-hold{hold}") / "store"
        with FakeStatsig() as fake:
            proc = _run(store, fake.url, "make", N, hold, wait_for="made")
            try:
                _wait_quiet(fake, 1 if hold else 0)
            finally:
                _kill(proc)
            made[hold] = (store, _delivered(fake))
        assert sum(made[hold][1].values()) < hold or not hold
    return made


def _records(store):
    """(start, end, index) of every complete record past journal.pos (end after its newline)."""
    data = (store / "journal").read_bytes()
    raw = (store / "journal.pos").read_bytes()
    done = struct.unpack_from("<Q", raw)[0] if len(raw) >= 8 else 0
    end = len(data.rstrip(b"\0"))
    out, start = [], done
    while start < end:
        stop = data.index(b"\n", start) + 1
        line = data[start:stop]
        match = re.search(rb'"i":(\d+)', line)
        if line.strip(b"\0"):
            out.append((start, stop, int(match.group(1))))
        start = stop
    return out


def _touched(records, ranges):
    return {i for start, end, i in records for a, b in ranges if a < end and b > start}


def _write(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


# Each damage: (store, records, rng) -> the byte ranges of the journal it changed.
def nul_run(store, records, rng):
    at = records[len(records) // 3][0] + 37
    _write(store / "journal", at, b"\0" * 10)
    return [(at, at + 10)]


def zeroed_page(store, records, rng):
    at = (records[len(records) // 2][0] // 4096 + 1) * 4096
    _write(store / "journal", at, b"\0" * 4096)
    return [(at, at + 4096)]


def random_blobs(store, records, rng):
    first, last = records[0][0], records[-1][1]
    ranges = []
    for _ in range(3):
        at = rng.randrange(first, last - 64)
        _write(store / "journal", at, rng.randbytes(64))
        ranges.append((at, at + 64))
    return ranges


def many_small_hits(store, records, rng):
    """Twenty single bytes flipped to NUL, newline or a high byte, each in its own record."""
    ranges = []
    for start, end, _ in rng.sample(records, 20):
        at = rng.randrange(start, end)
        _write(store / "journal", at, rng.choice([b"\0", b"\n", b"\xff", b"\x01"]))
        ranges.append((at, at + 1))
    return ranges


def cut_short(store, records, rng):
    at = records[2 * len(records) // 3][0] + 50
    os.truncate(store / "journal", at)
    return [(at, records[-1][1] + 1)]


def garbage_past_the_end(store, records, rng):
    at = records[-1][1] + 100
    _write(store / "journal", at, rng.randbytes(64))
    return []


DAMAGE = [nul_run, zeroed_page, random_blobs, many_small_hits, cut_short, garbage_past_the_end]


# Damage to journal.pos of a journal whose first passes were processed and delivered.
def pos_random(store):
    (store / "journal.pos").write_bytes(os.urandom(16))


def pos_truncated(store):
    (store / "journal.pos").write_bytes((store / "journal.pos").read_bytes()[:3])


def pos_past_the_end(store):
    (store / "journal.pos").write_bytes(struct.pack("<Q", (store / "journal").stat().st_size + 4096))


def pos_zero(store):
    (store / "journal.pos").write_bytes(bytes(8))


def pos_missing(store):
    (store / "journal.pos").unlink()


POS_DAMAGE = [pos_random, pos_truncated, pos_past_the_end, pos_zero, pos_missing]


def _drain(store):
    with FakeStatsig() as fake:
        out, err = _run(store, fake.url, "drain")
        assert "drained True" in out, (out, err[-3000:])
        return _delivered(fake), err


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda d: d.__name__)
def test_damaged_journal_loses_only_the_damaged_records(journaled, damage, tmp_path):
    source, before = journaled[0]
    store = tmp_path / "store"
    shutil.copytree(source, store)
    records = _records(store)
    assert [i for _, _, i in records] == list(range(N))
    seed = int(os.environ.get("DAMAGE_SEED") or time.time_ns() % 10**6)
    touched = _touched(records, damage(store, records, random.Random(seed)))
    delivered, log = _drain(store)
    lost = set(range(N)) - set(delivered)
    duplicated = {i: n for i, n in delivered.items() if n > 1}
    print(f"\n{damage.__name__} (seed {seed}): {len(lost)} lost, {len(duplicated)} duplicated, "
          f"{len(touched)} records touched by the damage")
    assert not duplicated, sorted(duplicated)[:10]
    assert lost <= touched, f"{len(lost - touched)} intact records lost, e.g. {sorted(lost - touched)[:10]}"
    assert "Traceback" not in log, log[-3000:]
    if damage is garbage_past_the_end:
        assert not lost
    elif damage is cut_short:
        assert "unterminated last record" in log, log[-2000:]
    else:
        # One summary per pass that met damage: how many records, how many bytes, why.
        skipped = sum(int(n) for n in re.findall(r"journal: skipped (\d+) damaged", log))
        assert skipped >= 1, log[-2000:]
        assert re.search(r"damaged \w+ \([\d,]+ bytes[\w, ]*: [A-Za-z ,-]+\)", log), log[-2000:]


@pytest.mark.parametrize("damage", POS_DAMAGE, ids=lambda d: d.__name__)
def test_damaged_position_file_neither_loses_nor_repeats(journaled, damage, tmp_path):
    source, before = journaled[1500]
    assert before, "the first passes were to be delivered before the kill"
    store = tmp_path / "store"
    shutil.copytree(source, store)
    damage(store)
    delivered, log = _drain(store)
    delivered.update(before)
    lost = set(range(N)) - set(delivered)
    duplicated = {i: n for i, n in delivered.items() if n > 1}
    print(f"\n{damage.__name__}: {len(before)} delivered before the kill; then {len(lost)} lost, "
          f"{len(duplicated)} duplicated")
    assert not lost, sorted(lost)[:10]
    assert not duplicated, f"{len(duplicated)} sent twice, e.g. {sorted(duplicated)[:10]}"
    assert "Traceback" not in log, log[-3000:]


def test_every_record_kind_is_salvaged_from_a_damaged_line():
    """Damage that glues records together (a lost newline, NUL bytes between them) must
    give back each whole record of every kind the journal writes: events, resets, and a
    destination's own records (Statsig's exposures)."""
    from segment_statsig.storage.records import read_records

    own = b'["_own",1714564800.0,"' + b"a" * 32 + b'","anon",null,{"destination":"Statsig","payload":{"eventName":"statsig::gate_exposure"}},null,null]'
    track = b'["track",1714564801.0,"' + b"b" * 32 + b'","anon",null,{"event":"After"},null,null]'
    reset = b'["_reset",1714564802.0,"' + b"c" * 32 + b'","anon",null,{},null,null]'
    records, damage = read_records([b"\0\0garbage" + own + b"\0" + track + b"\0\0" + reset])
    assert [r[0] for r in records] == ["_own", "track", "_reset"]
    assert damage and "NUL bytes" in str(damage)
