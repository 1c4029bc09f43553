"""The append-only journal that makes a call durable before it returns.

The caller's thread copies one JSON line into a shared memory map of the journal
file: no system call, no fsync, and the GIL is never let go in the middle of a call
(a `write` would let it go, and a worker thread would take it). Pages of a shared
file mapping belong to the kernel's page cache, so a returned call survives a
kill -9 of the app. The file is preallocated (so writing into the map can never
fault on a full disk) and zero past the last record.

The timeline worker reads the same lines from memory; once the destinations have
stored what it made of them, it moves the `done` marker (journal.pos) past them. A
restart replays what lies past the marker. Whenever everything is done the used part
is zeroed and writing starts again at the top, so the file stays small.

Without a usable folder (read-only, full) the journal keeps lines in memory only,
with a warning: the app keeps working, durability is what is lost.
"""
from __future__ import annotations

import collections
import logging
import mmap
import os
import struct
import threading

from .files import JOURNAL, JOURNAL_POSITION

log = logging.getLogger("segment_statsig")

_POS = struct.Struct("<Q")
_CHUNK = 256 * 1024  # the file grows by at least this much at a time


class Journal:
    def __init__(self, directory=None):
        self.lock = threading.Lock()
        self.pending = collections.deque()  # lines not yet processed, in call order
        self.fd = None
        self.pos_fd = None
        self.map = None
        self.capacity = 0  # bytes mapped (and allocated on disk)
        self.size = 0      # bytes of records
        self.done = 0      # bytes of records processed
        if directory is not None:
            try:
                self._open(directory)
            except (OSError, ValueError) as error:
                self._to_memory(f"cannot use {directory!r} ({getattr(error, 'strerror', None) or error})")

    def _open(self, directory):
        self.fd = os.open(os.path.join(directory, JOURNAL), os.O_RDWR | os.O_CREAT, 0o600)
        self.pos_fd = os.open(os.path.join(directory, JOURNAL_POSITION), os.O_RDWR | os.O_CREAT, 0o600)
        raw = os.pread(self.pos_fd, _POS.size, 0)
        file_size = os.fstat(self.fd).st_size
        done = _POS.unpack(raw)[0] if len(raw) == _POS.size else 0
        if done > file_size:  # the file was cut short under us: replay all of it
            log.warning("journal marker past its end; replaying the whole journal")
            done = 0
        data = os.pread(self.fd, file_size - done, done) if file_size > done else b""
        records_end = data.find(b"\0")
        if records_end >= 0:
            data = data[:records_end]
        end = data.rfind(b"\n") + 1
        torn = len(data) - end
        if torn:  # a call killed halfway through its copy: it had not returned
            log.warning("journal: ignored a torn last record of %d bytes (its call never returned)", torn)
        self.done = done
        self.size = done + end
        self.pending.extend(line + b"\n" for line in data[:end].splitlines())
        if self.pending:
            log.info("journal: %d events from an earlier run to process", len(self.pending))
        self._grow(max(file_size, _CHUNK))
        if torn:
            self.map[self.size:self.size + torn] = bytes(torn)

    def _grow(self, capacity):
        """Allocate `capacity` bytes on disk (ENOSPC here, never a fault later) and map them."""
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

    def _to_memory(self, why):
        log.warning("journal: %s; keeping events in memory only (not durable)", why)
        if self.map is not None:
            try:
                self.map.close()
            except (OSError, ValueError, BufferError):
                pass
        for fd in (self.fd, self.pos_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.fd = self.pos_fd = self.map = None

    def append(self, line):
        """Caller's thread: one memory copy and one deque append, under a lock that
        only callers and the worker's brief bookkeeping take, never the network."""
        with self.lock:
            if self.map is not None:
                end = self.size + len(line)
                if end > self.capacity:
                    try:
                        self._grow(max(end, 2 * self.capacity))
                    except (OSError, ValueError) as error:
                        self._to_memory(f"cannot grow the journal ({getattr(error, 'strerror', None) or error})")
                if self.map is not None:
                    self.map[self.size:end] = line
                    self.size = end
            self.pending.append(line)

    def take(self, limit):
        """Worker: up to `limit` lines, oldest first (they stay counted until mark_done)."""
        lines = []
        pending = self.pending
        while pending and len(lines) < limit:
            lines.append(pending.popleft())
        return lines

    def purge(self):
        """Erase every line not yet processed (Analytics.purge, on the worker between
        passes); returns how many."""
        with self.lock:
            erased = len(self.pending)
            self.pending.clear()
            if self.map is not None:
                try:
                    self.map[0:self.size] = bytes(self.size)
                    self.size = self.done = 0
                    os.pwrite(self.pos_fd, _POS.pack(0), 0)
                except (OSError, ValueError) as error:
                    self._to_memory(f"cannot erase the journal ({getattr(error, 'strerror', None) or error})")
            return erased

    def mark_done(self, nbytes):
        """Worker: the next `nbytes` of records are processed and stored downstream."""
        if self.map is None:
            return
        with self.lock:
            self.done += nbytes
            try:
                if self.done >= self.size and not self.pending:
                    # All done: zero what was used and start again at the top. A crash
                    # halfway leaves zeros or done records past the marker: nothing replays.
                    self.map[0:self.size] = bytes(self.size)
                    self.size = self.done = 0
                os.pwrite(self.pos_fd, _POS.pack(self.done), 0)
            except (OSError, ValueError) as error:
                self._to_memory(f"cannot update the marker ({getattr(error, 'strerror', None) or error})")

    def sync(self):
        """Guard against power loss too (the app goes to the background, shutdown)."""
        with self.lock:
            if self.map is None:
                return
            try:
                self.map.flush()
                os.fsync(self.pos_fd)
            except (OSError, ValueError):
                pass

    def close(self):
        self.sync()
        with self.lock:
            if self.map is not None:
                self.map.close()
                os.close(self.fd)
                os.close(self.pos_fd)
                self.fd = self.pos_fd = self.map = None
