"""What a damaged queue file still holds: its readable rows, read past the damaged
pages, copied into a new queue file, so damage costs only the rows it touched (and the
damage SQLite's -wal and -shm can take, said before SQLite opens them).

SQLite reads a table through its b-tree: a damaged leaf page fails the read of its own
rows, and a read that starts past them (a seek by rowid) does not touch it. So the rows
are read in rowid order, and where the read fails, the next readable row is looked for
by rowid, one step at a time (a page holds a few dozen rows). A queue's live rows have
consecutive rowids (rows only leave from the oldest end, and arrive at the newest), so
the rowids skipped are the rows lost, and the log says how many. When SQLite reads
nothing at all (the file's first page, its header and schema, or the table's root page
is damaged), the pages are read as SQLite's file format lays them out: every table leaf
page lists its rows (the -wal's committed pages over the file's). Deleted rows cannot
come back that way: the queue zeroes them (secure_delete).

The copy is crash-safe: the rows go to `<queue>.salvage` (a plain SQLite file) first,
the damaged file is moved aside (never read again: its rows are in the copy), and the
copy then takes the queue's name; a start that finds only the copy finishes the move.
"""
from __future__ import annotations

import json
import logging
import mmap
import os
import struct

from .files import QUEUE_DELIVERED, open_file, set_aside

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    import sqlite3
    from typing import Callable, Dict, List, Optional, Tuple, Type

    Row = Tuple[int, Optional[str], str]
    Pages = Callable[[int], Optional[bytes]]  # page number -> its bytes, or None past the end

log = logging.getLogger("segment_statsig")

SALVAGE = ".salvage"   # + after a queue's name: the readable rows of a damaged one, while copied
_LAST_ID = (1 << 63) - 1
_TABLE = "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, mid TEXT, body TEXT NOT NULL)"


def check_sidecars(path: str) -> None:
    """SQLite's -wal and -shm of a queue, before SQLite opens them: anything but a file
    there is moved aside (else the queue could not open); damage is said (SQLite
    ignores a -wal whose header is damaged and what a cut one lost, and rebuilds -shm)."""
    for suffix in ("-wal", "-shm"):
        side = path + suffix
        if not os.path.lexists(side):
            continue
        try:
            os.close(open_file(side, os.O_RDONLY))  # moves aside what is no file
            with open(side, "rb") as f:
                head = f.read(_WAL_HEADER.size)
            size = os.path.getsize(side)
        except OSError:
            continue
        if suffix == "-wal" and head:
            magic, _, page_size = _WAL_HEADER.unpack(head.ljust(_WAL_HEADER.size, b"\0"))
            # 32 bytes of header, then frames of 24 bytes + one page each
            if magic not in (0x377F0682, 0x377F0683) or size < 32 or (size - 32) % (page_size + 24):
                log.warning("%s is damaged or cut short: the rows it held since the last checkpoint are lost",
                            os.path.basename(side))
        elif suffix == "-shm" and size and (size % 32768 or head[:4] not in (_SHM_VERSION, bytes(4))):
            log.warning("%s is damaged; SQLite rebuilds it", os.path.basename(side))


_WAL_HEADER = struct.Struct(">III")   # magic, format version, page size (the -wal's first 12 bytes)
_SHM_VERSION = struct.pack("=I", 3007000)


def finish(path: str) -> None:
    """A salvage a crash cut short: the copy is complete once the damaged file is gone."""
    if os.path.exists(path + SALVAGE) and not os.path.exists(path):
        os.replace(path + SALVAGE, path)


def salvage(path: str, after: int) -> bool:
    """Copy the readable rows of the damaged queue file `path` (after id `after`: those
    up to it were delivered) into a new file at `path`, the damaged one moved aside;
    log what was saved and lost. False when nothing could be copied (the damaged file is
    then moved aside all the same, and the queue starts empty)."""
    import sqlite3

    name = os.path.basename(path)
    rows: List[Row] = []
    gaps: List[Tuple[int, int]] = []
    tail: Optional[int] = None
    try:
        db = sqlite3.connect(path, isolation_level=None)
        try:
            rows, gaps, tail = _read(db, sqlite3.DatabaseError, after)
        finally:
            db.close()
    except sqlite3.Error as error:  # not even the schema reads: nothing to salvage
        tail = after
        log.warning("queue %s: nothing readable (%s)", name, error)
    if not rows and tail is not None:  # the first page or the table's root: the pages themselves
        found = sorted(row for row in _leaf_rows(path) if row[0] > after)
        if found:
            rows, tail = found, None
            gaps = [(a[0] + 1, b[0] - 1) for a, b in zip(found, found[1:]) if b[0] > a[0] + 1]
            if found[0][0] > after + 1:
                gaps.insert(0, (after + 1, found[0][0] - 1))
    garbage = [row for row in rows if not _plausible(row)]
    rows = [row for row in rows if _plausible(row)]
    copied = _copy(path + SALVAGE, rows)
    moved = None
    for suffix in ("-wal", "-shm", QUEUE_DELIVERED, ""):  # the main file last: no stray -wal meets the copy
        if os.path.lexists(path + suffix):
            moved = set_aside(path + suffix, "damaged", quiet=True)
    lost = _lost(gaps, after, len(garbage), tail, len(rows) if not copied else 0)
    log.log(logging.ERROR if lost else logging.WARNING, "queue %s is damaged: %d readable rows salvaged; lost: %s; "
            "the damaged file is moved to %s", name, len(rows) if copied else 0, lost or "nothing", moved)
    if not copied:
        return False
    os.replace(path + SALVAGE, path)
    return True


def _lost(gaps: List[Tuple[int, int]], after: int, garbage: int, tail: Optional[int], uncopied: int) -> str:
    """What the log says was lost: '15 rows (ids 1201-1215)', and so on."""
    parts = []
    for first, last in gaps:
        ids = f"id {first}" if first == last else f"ids {first}-{last}"
        if first == after + 1:  # before the first readable row: some of these ids may have been delivered
            parts.append(f"up to {last - first + 1} rows ({ids}: the first rows are unreadable)")
        else:
            parts.append(f"{last - first + 1} rows ({ids})")
    if garbage:
        parts.append(f"{garbage} rows that read as garbage")
    if tail is not None:
        parts.append(f"every row after id {tail} (the last rows are unreadable)")
    if uncopied:
        parts.append(f"the {uncopied} readable rows, which could not be copied")
    return "; ".join(parts)


def _read(db: sqlite3.Connection, damaged: Type[BaseException], after: int) -> Tuple[List[Row], List[Tuple[int, int]], Optional[int]]:
    """(rows readable after id `after`, in order; the id ranges skipped as unreadable;
    the id after which nothing more could be read, or None when the end was reached)."""
    rows: List[Row] = []
    gaps: List[Tuple[int, int]] = []
    last = after
    while True:
        try:
            for row in db.execute("SELECT id, mid, body FROM events WHERE id > ? ORDER BY id", (last,)):
                rows.append(row)
                last = row[0]
            return rows, gaps, None
        except damaged:
            found = _next_readable(db, damaged, last)
            if found is None:
                return rows, gaps, last
            if found is _END:
                return rows, gaps, None
            if found[0] > last + 1:
                gaps.append((last + 1, found[0] - 1))
            rows.append(found)
            last = found[0]


_END = (0, None, "")  # no row after: the table's end was read


def _next_readable(db: sqlite3.Connection, damaged: Type[BaseException], after: int) -> Optional[Row]:
    """The first row after id `after` that reads whole, _END when none is left, None
    when every read past `after` fails (the table's last pages are damaged)."""
    def probe(first: int) -> Optional[Row]:
        try:
            row: Optional[Row] = db.execute("SELECT id, mid, body FROM events WHERE id >= ? ORDER BY id LIMIT 1",
                                            (first,)).fetchone()
            return row if row is not None else _END
        except damaged:
            return None

    # A first read far enough ahead (doubling the step) bounds the search; then one
    # rowid at a time up to it, so a readable stretch between two damaged ones is kept.
    step, bound = 1, None
    while after + step <= _LAST_ID:
        bound = probe(after + step)
        if bound is not None:
            break
        step *= 2
    if bound is None:
        return None
    for first in range(after + 1, after + step):
        row = probe(first)
        if row is not None:
            return row
    return bound


def _plausible(row: Row) -> bool:
    """A row a damaged page could have made up reads as garbage: every body is a JSON object."""
    try:
        return isinstance(json.loads(row[2]), dict)
    except (TypeError, ValueError):
        return False


def _copy(target: str, rows: List[Row]) -> bool:
    """The rows into a new SQLite file at `target` (0600, committed, no -wal left)."""
    import sqlite3 as sql

    try:
        if os.path.lexists(target):
            os.unlink(target)  # a copy an earlier try left unfinished
        os.close(os.open(target, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
        db = sql.connect(target, isolation_level=None)
        try:
            db.execute(_TABLE)
            db.execute("BEGIN")
            db.executemany("INSERT INTO events (id, mid, body) VALUES (?, ?, ?)", rows)
            db.execute("COMMIT")
        finally:
            db.close()
        return True
    except (sql.Error, OSError) as error:
        log.warning("queue %s: its readable rows cannot be copied (%s)", os.path.basename(target), error)
        return False


# --- reading the pages themselves (SQLite's file format, sqlite.org/fileformat.html) ----
_U16, _U32 = struct.Struct(">H"), struct.Struct(">I")
_FRAME = 24  # a -wal frame's header: page number, commit size, salts, checksums


def _leaf_rows(path: str) -> List[Row]:
    """Every row of every table leaf page but the first (the schema's: the queue holds
    one table), the -wal's committed pages read over the file's; unreadable cells skipped."""
    try:
        with open(path, "rb") as f:
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return []
    try:
        size = _U16.unpack_from(data, 16)[0] if data[:16] == b"SQLite format 3\0" else 0
        page_size = 65536 if size == 1 else size if size >= 512 and not size & (size - 1) else 4096
        usable = page_size - (data[20] if size else 0)
        wal = _wal_pages(path + "-wal", page_size)
        last = max([len(data) // page_size, *wal])

        def page(number: int) -> Optional[bytes]:  # read when asked: the file is not copied whole
            if number in wal:
                return wal[number]
            return data[(number - 1) * page_size:number * page_size] if 1 < number <= last else None

        rows: List[Row] = []
        for number in range(2, last + 1):
            leaf = page(number)
            if leaf is not None and leaf[:1] == b"\x0d":  # a table leaf page
                rows.extend(_cells(leaf, page, usable))
        return rows
    finally:
        data.close()


def _wal_pages(path: str, page_size: int) -> Dict[int, bytes]:
    """{page number: bytes} of the transactions the -wal committed (the last wins)."""
    try:
        with open(path, "rb") as f:
            wal = f.read()
    except OSError:
        return {}
    if len(wal) < 32 or _U32.unpack_from(wal, 0)[0] not in (0x377F0682, 0x377F0683) \
            or _U32.unpack_from(wal, 8)[0] != page_size:
        return {}
    salts = wal[16:24]
    committed: Dict[int, bytes] = {}
    pending: Dict[int, bytes] = {}
    at = 32
    while at + _FRAME + page_size <= len(wal) and wal[at + 8:at + 16] == salts:
        number, commit = _U32.unpack_from(wal, at)[0], _U32.unpack_from(wal, at + 4)[0]
        pending[number] = wal[at + _FRAME:at + _FRAME + page_size]
        if commit:
            committed.update(pending)
            pending = {}
        at += _FRAME + page_size
    return committed


def _cells(page: bytes, pages: Pages, usable: int) -> List[Row]:
    rows: List[Row] = []
    count = _U16.unpack_from(page, 3)[0]
    for i in range(min(count, (usable - 8) // 2)):
        try:
            at = _U16.unpack_from(page, 8 + 2 * i)[0]
            size, at = _varint(page, at)
            rowid, at = _varint(page, at)
            payload = _payload(page, at, size, pages, usable)
            row = _record(rowid, payload)
        except (IndexError, struct.error, ValueError):
            continue  # a damaged cell
        if row is not None and _plausible(row):
            rows.append(row)
    return rows


def _payload(page: bytes, at: int, size: int, pages: Pages, usable: int) -> bytes:
    """A cell's payload: on the page, then down its chain of overflow pages."""
    most = usable - 35
    if size <= most:
        return page[at:at + size]
    least = (usable - 12) * 32 // 255 - 23
    local = least + (size - least) % (usable - 4)
    if local > most:
        local = least
    parts = [page[at:at + local]]
    got, number = local, _U32.unpack_from(page, at + local)[0]
    for _ in range(size // (usable - 4) + 1):  # bounded: a damaged chain may loop
        overflow = pages(number) if got < size else None
        if overflow is None:
            break
        parts.append(overflow[4:4 + min(usable - 4, size - got)])
        got += usable - 4
        number = _U32.unpack_from(overflow, 0)[0]
    payload = b"".join(parts)
    if len(payload) != size:
        raise ValueError("overflow chain cut")
    return payload


def _record(rowid: int, payload: bytes) -> Optional[Row]:
    """(rowid, mid, body) of an events row: NULL (the rowid), text or NULL, text."""
    header, at = _varint(payload, 0)
    types = []
    while at < header:
        kind, at = _varint(payload, at)
        types.append(kind)
    if len(types) != 3 or types[0] != 0 or not (types[1] == 0 or types[1] >= 13 and types[1] % 2) \
            or not (types[2] >= 13 and types[2] % 2):
        return None
    mid_len, body_len = (types[1] - 13) // 2 if types[1] else 0, (types[2] - 13) // 2
    mid = payload[header:header + mid_len].decode("utf-8") if types[1] else None
    body = payload[header + mid_len:header + mid_len + body_len]
    if len(body) != body_len:
        return None
    return rowid, mid, body.decode("utf-8")


def _varint(data: bytes, at: int) -> Tuple[int, int]:
    value = 0
    for i in range(9):
        byte = data[at + i]
        if i == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    raise ValueError("unreachable")
