"""A destination's durable queue: one SQLite table of JSON texts, oldest first.

Bounded by count and bytes (the oldest go first, counted and logged). A file that
SQLite cannot read gives up its readable rows to a new queue file and is moved aside
(storage/salvage.py: the log says how many rows were lost); a folder that cannot hold
it means a queue in memory, with a warning. On a full disk, rows
delivered wait for their DELETE (which needs room in the WAL) behind a small marker
file allocated beforehand, so they are never sent again; once the queue is empty, the
space a long outage took is given back.
"""
from __future__ import annotations

import logging
import os
import struct
import threading

from .files import QUEUE_DELIVERED, describe_error, open_file
from .salvage import check_sidecars
from .memory_queue import MemoryQueue

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Deque, Dict, Iterable, List, Optional, Protocol, Set, Tuple

    from .._typing import QueueItem, QueueRow

    class Queue(Protocol):
        """What a destination's delivery needs of its queue: MemoryQueue, SqliteQueue and
        FallbackQueue (storage/fallback.py) are the three."""

        @property
        def count(self) -> int: ...   # events held
        @property
        def bytes(self) -> int: ...   # their JSON's length
        def put_many(self, items: List[QueueItem]) -> int: ...
        def peek(self, limit: int) -> List[QueueRow]: ...
        def remove(self, ids: List[int]) -> int: ...
        def forget(self) -> None: ...
        def purge(self) -> int: ...
        def close(self) -> None: ...

log = logging.getLogger("segment_statsig")

_MARK = struct.Struct("<QQ")   # delivered up to this id, and a check (a torn marker reads as none)
_CHECK = 0x6A09E667F3BCC909
_GIVE_BACK = 1 << 20           # an empty queue whose files hold more than this gives the space back


REPLAY_WINDOW = 2000  # > the journal lines one worker pass stores (worker.BATCH_LINES)
# Queue files this process has open, and how many times: their files are not opened (and
# closed) again beside SQLite's connection, as closing any descriptor of a file drops
# every POSIX lock the process holds on it, SQLite's included.
_OPEN: Dict[str, int] = {}


class SqliteQueue:
    durable = True
    count: int  # rows held (rows marked delivered not counted)
    registered = False  # counted in _OPEN
    bytes: int  # the length of their bodies

    def __init__(self, path: str, max_events: int, max_bytes: int) -> None:
        import sqlite3

        self.sqlite3 = sqlite3
        self.path = path
        self.max_events, self.max_bytes = max_events, max_bytes
        self.lock = threading.Lock()
        if path not in _OPEN:
            # Created 0600 first: SQLite gives its -wal and -shm files the same mode.
            os.close(open_file(path, os.O_RDWR | os.O_CREAT))
            check_sidecars(path)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            # A commit reaches the kernel (survives kill -9) without an fsync each time.
            self.db.execute("PRAGMA synchronous=NORMAL")
            # Deleted rows are zeroed, not left in free pages: reset() must leave no user on disk.
            self.db.execute("PRAGMA secure_delete=ON")
            self.forget_upto: Optional[int] = None
            # (the last row id a peek() returned, the lengths of the rows it returned)
            self.peeked: Optional[Tuple[int, List[int]]] = None
            # Rowids only grow while rows exist, which is all the delivery order needs;
            # no AUTOINCREMENT, no index: an insert is a plain append.
            self.db.execute("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, mid TEXT, body TEXT NOT NULL)")
            self.mark_fd = self._open_mark()
            self.gone_upto = self._read_mark()  # rows up to here were delivered; their DELETE waits for room
            if self.gone_upto:
                self._delete_gone()
            self._recount()
            self.high = self.bytes  # the most the queue held since it last gave disk space back
            # A crash between storing a pass of events and marking them done in the
            # journal makes the next start replay that pass (at most one pass, the rows
            # stored last): remember their message ids so the replay is not stored twice.
            self.recent_mids: Set[str] = {mid for (mid,) in self.db.execute(
                "SELECT mid FROM events WHERE id > ? ORDER BY id DESC LIMIT ?", (self.gone_upto, REPLAY_WINDOW)) if mid}
            _OPEN[path] = _OPEN.get(path, 0) + 1
            self.registered = True
        except Exception:
            self.db.close()
            if getattr(self, "mark_fd", None) is not None:
                os.close(self.mark_fd)  # type: ignore[arg-type]
            raise

    def _recount(self) -> None:
        self.count, self.bytes = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM events WHERE id > ?", (self.gone_upto,)).fetchone()

    # --- rows delivered on a full disk --------------------------------------------
    def _open_mark(self) -> Optional[int]:
        """The marker file, allocated now (while there is room): 16 bytes, rewritten in place."""
        try:
            fd = open_file(self.path + QUEUE_DELIVERED, os.O_RDWR | os.O_CREAT)
        except OSError:
            return None
        try:
            size = os.fstat(fd).st_size
            if size < _MARK.size:
                if size:
                    log.warning("%s is cut short (damaged); rewritten", os.path.basename(self.path + QUEUE_DELIVERED))
                os.pwrite(fd, _MARK.pack(0, _CHECK), 0)
        except OSError:
            pass
        return fd

    def _read_mark(self) -> int:
        if self.mark_fd is None:
            return 0
        upto: int
        try:
            upto, check = _MARK.unpack(os.pread(self.mark_fd, _MARK.size, 0))
        except (OSError, struct.error):
            return 0
        if check != upto ^ _CHECK:
            log.warning("%s is damaged: rows delivered while the disk was full, if any, may be sent again",
                        os.path.basename(self.path + QUEUE_DELIVERED))
            return 0
        return upto

    def _write_mark(self, upto: int) -> None:
        if self.mark_fd is not None:
            try:
                os.pwrite(self.mark_fd, _MARK.pack(upto, upto ^ _CHECK), 0)
            except OSError as error:
                log.debug("queue %s: cannot write its delivered marker (%s)", os.path.basename(self.path), error)

    def _defer(self, last: int, error: BaseException) -> int:
        """DELETE failed (a full disk): count the rows gone here and mark them, for
        this run (peek skips them) and the next (it deletes them first)."""
        count: int
        size: int
        count, size = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM events WHERE id > ? AND id <= ?",
            (self.gone_upto, last)).fetchone()
        if not self.gone_upto:
            log.warning("queue %s: cannot delete delivered rows (%s); they are marked delivered in %s "
                        "and deleted once the disk has room", os.path.basename(self.path), describe_error(error),
                        os.path.basename(self.path + QUEUE_DELIVERED))
        self.gone_upto = last
        self._write_mark(last)
        self.count -= count
        self.bytes -= size
        return count

    def _delete_gone(self) -> bool:
        """Try again to delete the rows marked delivered; True when they are gone."""
        try:
            self.db.execute("DELETE FROM events WHERE id <= ?", (self.gone_upto,))
        except self.sqlite3.Error:
            return False
        self.gone_upto = 0
        self._write_mark(0)
        log.info("queue %s: the rows delivered while the disk was full are deleted", os.path.basename(self.path))
        return True

    def put_many(self, items: List[QueueItem]) -> int:
        """Store (message id, text) items (a replayed one already stored is skipped);
        returns how many of the oldest were dropped to stay in bounds."""
        if self.recent_mids:
            items = [item for item in items if item[0] not in self.recent_mids]
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.executemany("INSERT INTO events (mid, body) VALUES (?, ?)", items)
                self.count += len(items)
                self.bytes += sum(len(t) for _, t in items)
                dropped = self._trim()
                self.db.execute("COMMIT")
                self.high = max(self.high, self.bytes)
            except BaseException:
                # SQLite rolls back by itself on some errors (a full disk among them): a
                # second ROLLBACK would only hide, with its own error, the one that matters.
                if self.db.in_transaction:
                    try:
                        self.db.execute("ROLLBACK")
                    except self.sqlite3.Error:
                        pass
                self._recount()
                raise
            return dropped

    def _trim(self) -> int:
        """Drop the oldest rows until both bounds hold (keeping the newest row
        when only the byte bound is over); returns how many."""
        dropped = 0
        while self.count > self.max_events or (self.bytes > self.max_bytes and self.count > 1):
            over_count = self.count - self.max_events
            over_bytes = self.bytes - self.max_bytes
            rows = self.db.execute("SELECT id, LENGTH(body) FROM events WHERE id > ? ORDER BY id LIMIT ?",
                                   (self.gone_upto, max(over_count, 256))).fetchall()
            cut = freed = 0
            for _, size in rows:
                if cut >= over_count and (freed >= over_bytes or cut == self.count - 1):
                    break
                cut += 1
                freed += size
            if cut == 0:
                break
            self.db.execute("DELETE FROM events WHERE id <= ?", (rows[cut - 1][0],))
            self.count -= cut
            self.bytes -= freed
            dropped += cut
        return dropped

    def peek(self, limit: int) -> List[QueueRow]:
        with self.lock:
            rows = self.db.execute("SELECT id, body FROM events WHERE id > ? ORDER BY id LIMIT ?",
                                   (self.gone_upto, limit)).fetchall()
            # Their sizes, so that remove() need not read them again to keep self.bytes.
            self.peeked = (rows[-1][0], [len(body) for _, body in rows]) if rows else None
            return rows

    def remove(self, ids: List[int]) -> int:
        """Remove rows a peek() returned (the oldest, so every row up to the last of
        them); returns how many were still there."""
        if not ids:
            return 0
        last = max(ids)
        with self.lock:
            if last <= self.gone_upto:
                return 0
            if self.gone_upto and self._delete_gone():  # room again: what waited is gone, count anew
                self._recount()
            try:
                # A range, not a list of ids: rows only ever arrive above the ones peeked.
                removed = self.db.execute("DELETE FROM events WHERE id <= ?", (last,)).rowcount
            except self.sqlite3.Error as error:
                removed = self._defer(last, error)
            else:
                if self.peeked is not None and self.peeked[0] == last and removed <= len(self.peeked[1]):
                    # The bound trims the oldest rows first (and counts them itself), so the
                    # peeked rows still here were the newest of them.
                    sizes = self.peeked[1]
                    self.count -= removed
                    self.bytes -= sum(sizes[len(sizes) - removed:])
                else:  # not the rows of the last peek(): count again
                    self._recount()
                if not self.count and not self.gone_upto and self.high >= _GIVE_BACK:
                    self._give_back()
            self.peeked = None
            if self.forget_upto is not None:
                self._scrub()
            return removed

    def _give_back(self) -> None:
        """The queue is empty after holding a lot: give back the disk a long outage took
        (VACUUM rebuilds the file, now tiny; the checkpoint truncates the WAL). The
        delivery thread runs this after its last removal, never the app's thread."""
        self.high = 0
        try:
            pages, page_size = (self.db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "page_size"))
            wal = os.path.getsize(self.path + "-wal") if os.path.exists(self.path + "-wal") else 0
            if pages * page_size + wal < _GIVE_BACK:
                return
            if pages * page_size >= _GIVE_BACK:
                self.db.execute("VACUUM")
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except (self.sqlite3.Error, OSError) as error:
            log.debug("queue %s: could not give disk space back (%s)", os.path.basename(self.path), error)

    def last_id(self) -> int:
        with self.lock:
            last: int = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
            return last

    def purge(self) -> int:
        """Erase every event, and its traces in the WAL (secure_delete zeroes the pages);
        returns how many. On a full disk they are marked delivered instead: never sent."""
        with self.lock:
            erased = self.count
            try:
                self.db.execute("DELETE FROM events")
            except self.sqlite3.Error as error:
                self._defer(self.db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0], error)
            else:
                if self.gone_upto:
                    self.gone_upto = 0
                    self._write_mark(0)
            self.count = self.bytes = 0
            self.recent_mids = set()
            self.peeked = None
            try:
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except self.sqlite3.Error as error:
                log.warning("queue %s: could not erase the events from its log (%s)", os.path.basename(self.path), error)
            return erased

    def forget(self) -> None:
        """The user was reset: once the rows stored so far are gone (delivered or
        dropped), erase their last traces (the WAL's old page images)."""
        with self.lock:
            self.forget_upto = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
            self._scrub()

    def _scrub(self) -> None:
        oldest = self.db.execute("SELECT MIN(id) FROM events WHERE id > ?", (self.gone_upto,)).fetchone()[0]
        if oldest is None or oldest > self.forget_upto:
            try:
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except self.sqlite3.Error as error:
                log.warning("queue %s: could not erase delivered rows from its log (%s)",
                            os.path.basename(self.path), error)
            self.forget_upto = None

    def close(self) -> None:
        with self.lock:
            if self.gone_upto:
                self._delete_gone()
            try:
                self.db.close()
            except Exception:
                pass
            if self.mark_fd is not None:
                os.close(self.mark_fd)
                self.mark_fd = None
            if self.registered:  # (close may come twice)
                self.registered = False
                if _OPEN.get(self.path, 0) > 1:
                    _OPEN[self.path] -= 1
                else:
                    _OPEN.pop(self.path, None)


def open_queue(directory: Optional[str], name: str, max_events: int, max_bytes: int) -> Queue:
    """A SqliteQueue in `directory` (what a damaged one could still read salvaged into
    it), or a MemoryQueue when that cannot be had."""
    if directory is None:
        return MemoryQueue(max_events, max_bytes)
    path = os.path.join(directory, name)
    from . import salvage

    try:
        salvage.finish(path)
        return SqliteQueue(path, max_events, max_bytes)
    except ImportError:
        log.warning("sqlite3 is missing; queue %s kept in memory (not durable)", name)
    except OSError as error:
        log.warning("queue %s unusable (%s); kept in memory (not durable)", name, error.strerror or error)
    except Exception as error:  # sqlite3.DatabaseError: corrupt or truncated file
        if "readonly" in str(error) or "unable to open" in str(error) or "disk" in str(error) and "full" in str(error):
            log.warning("queue %s unusable (%s); kept in memory (not durable)", name, error)
            return MemoryQueue(max_events, max_bytes)
        log.warning("queue %s is unreadable (%s); salvaging its readable rows into a new one", name, error)
        try:
            salvage.salvage(path, _delivered_mark(path + QUEUE_DELIVERED))
            return SqliteQueue(path, max_events, max_bytes)
        except Exception as again:
            log.warning("queue %s still unusable (%s); kept in memory (not durable)", name, again)
    return MemoryQueue(max_events, max_bytes)


def _delivered_mark(marker: str) -> int:
    """Rows up to this id were delivered (the -delivered marker); 0 when unreadable."""
    try:
        fd = os.open(marker, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return 0
    try:
        upto, check = _MARK.unpack(os.pread(fd, _MARK.size, 0))
    except (OSError, struct.error):
        return 0
    finally:
        os.close(fd)
    return upto if check == upto ^ _CHECK else 0
