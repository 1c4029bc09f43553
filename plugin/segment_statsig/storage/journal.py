"""The append-only journal that makes a call durable before it returns.

The caller's thread copies one JSON line into a shared memory map of the journal
file: no system call, no fsync, and the GIL is never let go in the middle of a call
(a `write` would let it go, and a worker thread would take it). Pages of a shared
file mapping belong to the kernel's page cache, so a returned call survives a
kill -9 of the app. The file is preallocated (so writing into the map can never
fault on a full disk) and zero past the last record.

The timeline worker reads the lines straight from the map (nothing is copied per
call and kept waiting in memory, however far behind it is). Once the destinations
have stored what it made of them, it zeroes those records and moves the marker
(journal.pos) past them. So the journal itself says what is left: the first byte
that is not zero; the marker only saves a scan, and a damaged one costs that scan,
never a lost or repeated event. When everything is done, writing starts again at the
top, and a journal a burst made large shrinks back to its first allocation.

A restart replays what is left, line by line: damage (a run of NUL bytes, a garbled
stretch, a file cut short) costs only the lines it touched (storage/records.py).

Without a usable folder (read-only, full) the journal keeps lines in memory only,
with a warning: the app keeps working, durability is what is lost. When the file
cannot grow (disk full), new lines wait in memory until the worker has caught up,
then the file, whose space is still allocated, takes them again.
"""
from __future__ import annotations

import collections
import logging
import mmap
import os
import struct
import threading

from .files import JOURNAL, JOURNAL_POSITION, describe_error, open_file

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Deque, List, Optional, Sequence

log = logging.getLogger("segment_statsig")

_POS = struct.Struct("<QQ")   # done, done ^ _CHECK: a torn or garbled marker is seen as such
_CHECK = 0x9E3779B97F4A7C15
_CHUNK = 256 * 1024           # the first allocation; the file grows by doubling, at least this much
_TAKE_PER_LINE = 400          # bytes take() reads ahead per line asked for (it reads on for one long line)
_SCAN = 1024 * 1024           # bytes per step when looking for where the records start and end
_RESIDENT = 2 * 1024 * 1024   # journal pages kept in the app's RSS around the worker and the callers
_RELEASE_STEP = 4 * 1024 * 1024  # in a burst the worker lags behind, callers give pages back this often
# A journal in memory (no usable folder, or a full disk) is bounded like the queues by
# default: past it the oldest lines are dropped, counted and logged.
MEMORY_MAX_LINES = 100_000
MEMORY_MAX_BYTES = 32 * 1024 * 1024


class Journal:
    def __init__(self, directory: Optional[str] = None) -> None:
        self.lock = threading.Lock()
        self.fd: Optional[int] = None
        self.pos_fd: Optional[int] = None
        self.map: Optional[mmap.mmap] = None
        self.capacity = 0   # bytes mapped (and allocated on disk)
        self.room = 0       # where append() may write up to (see _room), or 0 while lines go to memory
        self.size = 0       # end of the records in the file
        self.read = 0       # where the worker reads next (lines before it are taken, not yet done)
        self.done = 0       # processed and stored downstream up to here
        self.earlier_run = False  # it opened with lines an earlier run left unprocessed
        self.memory: Deque[bytes] = collections.deque()  # lines kept in memory only; they come after the file's
        self.memory_bytes = 0
        self.dropped = self.reported = 0   # memory lines dropped by the bound, and how many were logged
        self.released = 0   # the map's pages below this are out of the app's RSS
        self.spilled = False  # the file could not grow: new lines go to memory until the worker catches up
        if directory is not None:
            try:
                self._open(directory)
            except (OSError, ValueError) as error:
                self._to_memory(f"cannot use {directory!r} ({describe_error(error)})")

    # --- opening: where the records start and end ---------------------------------
    def _open(self, directory: str) -> None:
        self.fd = open_file(os.path.join(directory, JOURNAL), os.O_RDWR | os.O_CREAT)
        self.pos_fd = open_file(os.path.join(directory, JOURNAL_POSITION), os.O_RDWR | os.O_CREAT)
        file_size = os.fstat(self.fd).st_size
        try:
            self._grow(max(file_size, _CHUNK))
        except OSError:
            if not file_size:
                raise
            # A full disk: the file's own space still takes what fits; the rest goes to
            # memory (append says so). What it holds is still to be read and marked done.
            self.map = mmap.mmap(self.fd, file_size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            self.capacity = file_size
        assert self.map is not None
        end = self._data_end()
        start = self._first_data(self._read_marker(file_size, end), end)
        size = max(start, self.map.rfind(b"\n", start, end) + 1)
        if end > size:  # a call killed halfway through its copy (it never returned), or the file was cut
            log.warning("journal: ignored an unterminated last record of %d bytes (a call killed mid-write, "
                        "or the file was cut short)", end - size)
        if size > start:
            self.map[size:end] = bytes(end - size)
            self.done = self.read = start
            self.size = size
            self.earlier_run = True
            log.info("journal: %d bytes of events from an earlier run to process", size - start)
        else:  # nothing left: clear what is there (an older version did not zero done records)
            self._restart()
            end = min(end, self.capacity)
            self.map[0:end] = bytes(end)
        self.room = self._room()
        self._drop_pages(0, self.capacity)  # the scans above mapped pages the app need not keep
        self._write_marker()  # also allocates journal.pos now (a full disk shows here, not later)

    def _read_marker(self, file_size: int, end: int) -> int:
        """journal.pos, when it can be trusted; else 0 (the scan from the top finds the
        first record left, since done records are zeroed)."""
        assert self.pos_fd is not None and self.map is not None
        raw = os.pread(self.pos_fd, _POS.size, 0)
        done: int
        if len(raw) == _POS.size:
            done, check = _POS.unpack(raw)
            valid = check == done ^ _CHECK
        elif len(raw) == 8:  # an earlier version's marker: no check, done records not zeroed
            done, valid = struct.unpack("<Q", raw)[0], True
        else:  # a new journal (or nothing in it) needs no marker; anything else in it is damage
            done, valid = 0, not end and not raw
        if valid and done <= file_size and (done == 0 or self.map[done - 1] in (0, 10)):
            return done
        if end:
            log.warning("journal.pos is damaged or missing; looking for the first record left from the top")
        else:
            log.warning("journal.pos is damaged; the journal holds nothing to process, it is rewritten")
        return 0

    def _data_end(self) -> int:
        """Just past the last byte that is not zero."""
        assert self.map is not None
        end = self.capacity
        while end > 0:
            begin = max(0, end - _SCAN)
            kept = self.map[begin:end].rstrip(b"\0")
            if kept:
                return begin + len(kept)
            end = begin
        return 0

    def _first_data(self, start: int, end: int) -> int:
        """The first byte at or after `start` that is not zero (done records are zeroed)."""
        assert self.map is not None
        while start < end:
            chunk = self.map[start:min(end, start + _SCAN)]
            kept = chunk.lstrip(b"\0")
            if kept:
                return start + len(chunk) - len(kept)
            start += len(chunk)
        return end

    def _grow(self, capacity: int) -> None:
        """Allocate `capacity` bytes on disk (ENOSPC here, never a fault later) and map them."""
        assert self.fd is not None
        capacity = -(-capacity // _CHUNK) * _CHUNK
        if hasattr(os, "posix_fallocate"):
            os.posix_fallocate(self.fd, 0, capacity)
        else:  # write real zeros: a sparse file could fault on a full disk later
            size = os.fstat(self.fd).st_size
            if size < capacity and os.pwrite(self.fd, bytes(capacity - size), size) != capacity - size:
                raise OSError("short write while growing the journal")
        if self.map is None:
            self.map = mmap.mmap(self.fd, capacity, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        else:
            self.map.resize(capacity)
        self.capacity = capacity

    def _to_memory(self, why: str) -> None:
        log.warning("journal: %s; keeping events in memory only (not durable)", why)
        for closing in (self.map, self.fd, self.pos_fd):
            try:
                if closing is not None:
                    closing.close() if isinstance(closing, mmap.mmap) else os.close(closing)
            except (OSError, ValueError, BufferError):
                pass
        self.fd = self.pos_fd = self.map = None
        self.room = self.size = self.read = self.done = 0

    def unprocessed(self, kinds: Sequence[str]) -> List[bytes]:
        """At start: the lines an earlier run left unprocessed whose record type is one of
        `kinds`, in order (the identity replays its changes from them). Found by a byte
        search, not a parse of every line: a backlog costs the start little."""
        with self.lock:
            if self.map is None or self.read >= self.size:
                return []
            found: List[int] = []
            start, end = self.read, self.size
            for kind in kinds:
                tag = b'["' + kind.encode("ascii") + b'",'
                if self.map[start:start + len(tag)] == tag:
                    found.append(start)
                at = self.map.find(b"\n" + tag, start, end)
                while at >= 0:
                    found.append(at + 1)
                    at = self.map.find(b"\n" + tag, at + 1, end)
            found.sort()
            lines = [self.map[at:self.map.find(b"\n", at, end)] for at in found]
            self._drop_pages(0, self.capacity)  # the search mapped pages the app need not keep
            return lines

    # --- the caller's thread ------------------------------------------------------
    def append(self, line: bytes) -> None:
        """One memory copy, under a lock that only callers and the worker's brief
        bookkeeping take, never the network."""
        with self.lock:
            end = self.size + len(line)
            if end <= self.room:
                self.map[self.size:end] = line  # type: ignore[index]  # room > 0 only while mapped
                self.size = end
            else:
                self._append_slowly(line, end)

    def _room(self) -> int:
        """Where append() writes up to before its slow path: the end of the file, or a
        release point sooner, so that the callers of a burst the worker lags behind
        give back the pages they wrote (else the app's RSS grows with the backlog)."""
        return min(self.capacity, self.size + _RELEASE_STEP)

    def _append_slowly(self, line: bytes, end: int) -> None:
        if self.map is not None and self.room:
            try:
                if end > self.capacity:
                    self._grow(max(end, 2 * self.capacity))
                else:  # a release point: one madvise per _RELEASE_STEP bytes written
                    self._release()
                self.map[self.size:end] = line
                self.size = end
                self.room = self._room()
                return
            except (OSError, ValueError) as error:
                self.room, self.spilled = 0, True  # until the worker has caught up (mark_done)
                log.warning("journal: cannot grow (%s); new events kept in memory until it is processed "
                            "(not durable)", describe_error(error))
        self.memory.append(line)
        self.memory_bytes += len(line)
        while len(self.memory) > MEMORY_MAX_LINES or self.memory_bytes > MEMORY_MAX_BYTES:
            self.memory_bytes -= len(self.memory.popleft())
            self.dropped += 1  # logged by the worker (take), off the caller's thread

    # --- the timeline worker ------------------------------------------------------
    @property
    def pending(self) -> bool:
        """True while lines wait for the worker."""
        return self.read < self.size or bool(self.memory)

    def take(self, limit: int) -> List[bytes]:
        """Up to `limit` lines, oldest first (from the file, then from memory); they
        stay in the journal until mark_done()."""
        with self.lock:
            if self.dropped > self.reported:
                log.warning("journal (in memory): dropped the %d oldest events to stay within %d events / %d bytes",
                            self.dropped - self.reported, MEMORY_MAX_LINES, MEMORY_MAX_BYTES)
                self.reported = self.dropped
            if self.read < self.size:
                assert self.map is not None  # the file holds lines only while mapped
                start = self.read
                cut = self.map.rfind(b"\n", start, min(self.size, start + limit * _TAKE_PER_LINE)) + 1
                if cut <= start:  # one line longer than that
                    cut = self.map.find(b"\n", start, self.size) + 1 or self.size
                lines = self.map[start:cut].split(b"\n")
                if not lines[-1]:
                    lines.pop()  # what follows the last newline: nothing
                if len(lines) > limit:
                    del lines[limit:]
                    cut = start + sum(map(len, lines)) + limit
                self.read = cut
                return lines
            lines = []
            memory = self.memory
            while memory and len(lines) < limit:
                line = memory.popleft()
                self.memory_bytes -= len(line)
                lines.append(line)
            return lines

    def mark_done(self) -> None:
        """Every line taken so far is processed and stored downstream: zero those
        records (the journal then says by itself what is left) and move the marker."""
        with self.lock:
            if self.map is None:
                return
            try:
                if self.read > self.done:
                    self.map[self.done:self.read] = bytes(self.read - self.done)
                    self.done = self.read
                if self.done == self.size and not self.memory:
                    self._restart()
                else:
                    self._release()
                self._write_marker()
            except (OSError, ValueError) as error:
                self._to_memory(f"cannot update the marker ({describe_error(error)})")

    def purge(self) -> int:
        """Erase every line not yet processed (Analytics.purge, on the worker between
        passes); returns how many."""
        with self.lock:
            erased = len(self.memory)
            self.memory.clear()
            self.memory_bytes = 0
            if self.map is None:
                return erased
            try:
                for start in range(self.read, self.size, _SCAN):
                    erased += self.map[start:min(self.size, start + _SCAN)].count(b"\n")
                self.read = self.done = self.size
                end = self.size
                self._restart()  # a large journal shrinks: what lay past its first allocation is gone
                self._zero(0, min(end, self.capacity))
                self._write_marker()
            except (OSError, ValueError) as error:
                self._to_memory(f"cannot erase the journal ({describe_error(error)})")
            return erased

    def _zero(self, start: int, end: int) -> None:
        assert self.map is not None
        for at in range(start, end, _SCAN):
            self.map[at:min(end, at + _SCAN)] = bytes(min(end, at + _SCAN) - at)

    def _restart(self) -> None:
        """Everything is done (and zero): write from the top again, in the first allocation."""
        if self.capacity > _CHUNK:
            assert self.map is not None
            try:  # ftruncate, then mremap: the disk (and the pages) a burst took are given back
                self.map.resize(_CHUNK)
                self.capacity = _CHUNK
            except (OSError, ValueError, SystemError, BufferError) as error:
                log.debug("journal: could not shrink (%s)", error)
        if self.spilled:
            self.spilled = False
            log.warning("journal: caught up; new events are written to the file again")
        self.size = self.read = self.done = self.released = 0
        self.room = self._room()

    def _release(self) -> None:
        """Keep the app's RSS small however long the backlog: drop from it the pages
        the worker is done with and those between it and the callers (shared file
        pages: the kernel keeps their data, and a later read maps them again)."""
        page = mmap.PAGESIZE
        behind = self.done // page * page
        if behind - self.released >= _RESIDENT:
            self._drop_pages(self.released, behind - self.released)
            self.released = behind
        ahead = (self.read + _RESIDENT) // page * page
        upto = (self.size - _RESIDENT) // page * page
        if upto - ahead >= _RESIDENT:
            self._drop_pages(ahead, upto - ahead)

    def _drop_pages(self, start: int, length: int) -> None:
        """Take pages out of the app's RSS. Only memory is at stake: where madvise is
        missing or refused, the pages stay resident and the journal works on."""
        if self.map is None or not hasattr(self.map, "madvise"):
            return
        try:
            self.map.madvise(mmap.MADV_DONTNEED, start, length)
        except OSError as error:
            log.debug("journal: could not release pages (%s)", error)

    def _write_marker(self) -> None:
        assert self.pos_fd is not None
        os.pwrite(self.pos_fd, _POS.pack(self.done, self.done ^ _CHECK), 0)

    def grow_ahead(self) -> None:
        """Worker: grow a journal more than half full now, so that a burst's calls
        rarely pay for the allocation themselves."""
        if self.map is None or not self.room or self.size < self.capacity // 2:
            return
        capacity = 2 * self.capacity
        try:
            if hasattr(os, "posix_fallocate"):
                # Outside the lock: callers write meanwhile (the fd is None if closed meanwhile: TypeError).
                os.posix_fallocate(self.fd, 0, capacity)  # type: ignore[arg-type]
            with self.lock:
                if self.map is not None and self.room and self.capacity < capacity:
                    self._grow(capacity)
                    self.room = self._room()
        except (OSError, ValueError, TypeError):  # TypeError: closed meanwhile (shutdown)
            pass  # append() will try, and say why

    # --- both ---------------------------------------------------------------------
    def sync(self) -> None:
        """Guard against power loss too (the app goes to the background, shutdown)."""
        with self.lock:
            if self.map is None:
                return
            assert self.pos_fd is not None
            try:
                self.map.flush()
                os.fsync(self.pos_fd)
            except (OSError, ValueError):
                pass

    def close(self) -> None:
        self.sync()
        with self.lock:
            if self.memory:
                log.warning("journal: %d events kept in memory only are dropped at close", len(self.memory))
                self.memory.clear()
                self.memory_bytes = 0
            if self.map is not None:
                assert self.fd is not None and self.pos_fd is not None
                self.map.close()
                os.close(self.fd)
                os.close(self.pos_fd)
                self.fd = self.pos_fd = self.map = None
            self.room = self.size = self.read = self.done = 0
