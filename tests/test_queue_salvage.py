"""A damaged queue page loses only the rows on it.

A queue holds 3,000 undelivered Statsig events (Statsig was down); the app exits. 4 KiB
of random bytes then cover one page of statsig-queue.sqlite3: the file's first page
(header and schema), the table's root page, or a leaf page (the first, the last, and
pages drawn by seed). The next start must deliver every
row outside that page exactly once, and its log must say how many rows were lost. Which
rows a page held is read from the undamaged file by the test itself (SQLite's page
format: a table leaf page lists its cells, each opening with its payload size and rowid).
"""
import collections
import random
import re
import shutil
import sqlite3
import struct

import pytest

from segment_statsig import Analytics, StatsigDestination
from segment_statsig.storage.files import STATSIG_QUEUE
from segment_statsig.storage.salvage import _varint  # SQLite's varint, as the salvager reads it

from .conftest import KEY

N = 3000
PAGE = 4096


def make(store, fake):
    analytics = Analytics(storage_dir=store, settings={"integrations": {"Statsig": {"apiKey": KEY}}},
                          flush_interval=0.05)
    destination = analytics.add(StatsigDestination(api_url=fake.url, retry_base=0.02, retry_max=0.2))
    return analytics, destination


def leaf_rowids(data):
    """{page number: [rowids]} of every table leaf page of the file but the first (the
    schema's: the queue's file holds one table)."""
    pages = {}
    for number in range(2, len(data) // PAGE + 1):
        page = data[(number - 1) * PAGE:number * PAGE]
        head = 0
        if page[head] != 0x0D:
            continue
        cells = struct.unpack(">H", page[head + 3:head + 5])[0]
        ids = []
        for c in range(cells):
            (at,) = struct.unpack(">H", page[head + 8 + 2 * c:head + 10 + 2 * c])
            _, at = _varint(page, at)
            ids.append(_varint(page, at)[0])
        pages[number] = ids
    return pages


@pytest.fixture(scope="module")
def undelivered(tmp_path_factory):
    """(a storage folder whose queue holds N undelivered events, checkpointed into the
    main file as after a clean exit; {rowid: event index}; {leaf page: rowids})."""
    from segment_statsig.testing import FakeStatsig

    store = tmp_path_factory.mktemp("salvage") / "store"
    with FakeStatsig() as fake:
        analytics, destination = make(store, fake)
        analytics.track("Delivered First", {"i": -1})
        assert analytics.flush(timeout=10)
        fake.set_offline(True)
        for i in range(N):
            analytics.track("Left Over", {"i": i, "pad": "p" * (i % 300)})
        assert not analytics.flush(timeout=1)
        assert destination.queue_depth == N
        analytics.shutdown(0.5)
    db = sqlite3.connect(store / STATSIG_QUEUE)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    index = {rowid: int(re.search(r'"i": ?"(\d+)"', body).group(1)) for rowid, body in db.execute(
        "SELECT id, body FROM events")}
    (root,) = db.execute("SELECT rootpage FROM sqlite_schema WHERE name = 'events'").fetchone()
    db.close()
    assert sorted(index.values()) == list(range(N))
    pages = leaf_rowids((store / STATSIG_QUEUE).read_bytes())
    assert sorted(r for ids in pages.values() for r in ids) == sorted(index)
    assert root not in pages and len(pages) > 300  # a root of leaves, hundreds of them
    return store, index, pages, root


def _choices():
    """Leaf pages to damage: the first, the last, and one drawn by seed in each eighth
    of the file (the list of leaf pages is known only to the fixture: a fraction of it)."""
    rng = random.Random(20)
    return ["header", "root", "first", "last"] + [round((k + rng.random()) / 8, 4) for k in range(8)]


@pytest.mark.parametrize("which", _choices())
def test_random_bytes_over_one_page_lose_only_its_rows(tmp_path, fake_statsig, log_records, undelivered, which):
    pristine, index, pages, root = undelivered
    leaves = sorted(pages)
    page = {"header": 1, "root": root, "first": leaves[0], "last": leaves[-1]}.get(which) \
        or leaves[int(which * len(leaves))]
    store = tmp_path / "store"
    shutil.copytree(pristine, store)
    with open(store / STATSIG_QUEUE, "r+b") as f:
        f.seek((page - 1) * PAGE)
        f.write(random.Random(f"{which}").randbytes(PAGE))
    lost = {index[rowid] for rowid in pages.get(page, [])}  # the header and the root hold no row

    analytics, destination = make(store, fake_statsig)
    try:
        analytics.track("After Damage", {"i": N})
        assert analytics.flush(timeout=30), destination.stats.snapshot()
    finally:
        analytics.shutdown(2)
    delivered = collections.Counter(int(e["metadata"]["i"]) for e in fake_statsig.events)
    assert max(delivered.values()) == 1, [i for i, n in delivered.items() if n > 1][:10]  # none twice
    assert set(delivered) == set(range(N + 1)) - lost, (page, sorted(set(range(N + 1)) - lost - set(delivered))[:10])
    said = [r.getMessage() for r in log_records.records if "is damaged" in r.getMessage()]
    assert len(said) == 1, said
    if which in ("header", "root"):
        assert "lost: nothing" in said[0], said[0]
    elif which == "last":  # nothing after the damaged page says how many rows it held
        assert re.search(rf"every row after id {min(pages[page]) - 1}\b", said[0]), said[0]
    elif which == "first":  # the rows before it may have been delivered: an upper bound
        count = int(re.search(r"lost: up to (\d+) rows", said[0]).group(1))
        assert count >= len(lost), said[0]
    else:
        assert re.search(rf"lost: {len(lost)} rows \(ids {min(pages[page])}-{max(pages[page])}\)", said[0]), said[0]


def test_rows_marked_delivered_are_not_salvaged(tmp_path, fake_statsig, log_records, undelivered):
    """Rows delivered while the disk was full wait for their DELETE behind the -delivered
    marker (16 bytes: up to this id, and a check); a salvage leaves them out."""
    pristine, index, pages, _ = undelivered
    store = tmp_path / "store"
    shutil.copytree(pristine, store)
    marked = 500
    (store / (STATSIG_QUEUE + "-delivered")).write_bytes(struct.pack("<QQ", marked, marked ^ 0x6A09E667F3BCC909))
    # One damaged page among the rows marked delivered (their DELETE at the start fails on
    # it, so the marker stays), one among the others (the queue cannot be read: salvaged).
    damaged = [number for number, ids in pages.items() if marked // 2 in ids or N // 2 in ids]
    with open(store / STATSIG_QUEUE, "r+b") as f:
        for page in damaged:
            f.seek((page - 1) * PAGE)
            f.write(random.Random(page).randbytes(PAGE))
    analytics, destination = make(store, fake_statsig)
    try:
        assert analytics.flush(timeout=30), destination.stats.snapshot()
    finally:
        analytics.shutdown(2)
    delivered = collections.Counter(int(e["metadata"]["i"]) for e in fake_statsig.events)
    lost = {index[r] for page in damaged for r in pages[page]}
    assert max(delivered.values()) == 1 and set(delivered) == {index[r] for r in index if r > marked} - lost


def test_a_salvage_cut_short_by_a_kill_is_finished_at_the_next_start(tmp_path, fake_statsig, undelivered):
    """Killed after the damaged file was moved aside, before the copy took the queue's
    name: the next start finds only the copy (<queue>.salvage) and delivers it."""
    pristine, index, _, _ = undelivered
    store = tmp_path / "store"
    shutil.copytree(pristine, store)
    (store / STATSIG_QUEUE).rename(store / (STATSIG_QUEUE + ".salvage"))
    analytics, destination = make(store, fake_statsig)
    try:
        assert analytics.flush(timeout=30), destination.stats.snapshot()
    finally:
        analytics.shutdown(2)
    delivered = collections.Counter(int(e["metadata"]["i"]) for e in fake_statsig.events)
    assert max(delivered.values()) == 1 and set(delivered) == set(range(N))
    assert not (store / (STATSIG_QUEUE + ".salvage")).exists()
