"""The append-only journal that makes a call durable before it returns.

The caller's thread does one `write` of one JSON line (no fsync): bytes handed to
the kernel survive a kill -9 of the app. The timeline worker reads the same lines
from memory, and once the destinations have stored what it made of them, it moves
the `done` marker (journal.pos) past them. A restart replays what lies past the
marker. When everything is done the file is emptied, so it never grows for long.

Without a usable folder (read-only, full) the journal keeps lines in memory
only, with a warning: the app keeps working, durability is what is lost.
"""
from __future__ import annotations

import collections
import logging
import os
import struct
import threading

log = logging.getLogger("segment_statsig")

_POS = struct.Struct("<Q")


class Journal:
    def __init__(self, directory=None):
        self.lock = threading.Lock()
        self.pending = collections.deque()  # lines not yet processed, in call order
        self.fd = None
        self.pos_fd = None
        self.size = 0   # bytes in the file
        self.done = 0   # bytes processed
        if directory is not None:
            try:
                self._open(directory)
            except OSError as error:
                self._to_memory(f"cannot use {directory!r} ({error.strerror or error})")

    def _open(self, directory):
        path = os.path.join(directory, "journal")
        self.fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        self.pos_fd = os.open(path + ".pos", os.O_RDWR | os.O_CREAT, 0o600)
        raw = os.pread(self.pos_fd, _POS.size, 0)
        self.size = os.fstat(self.fd).st_size
        self.done = _POS.unpack(raw)[0] if len(raw) == _POS.size else 0
        if self.done > self.size:  # the file was cut short under us: replay all of it
            log.warning("journal marker past its end; replaying the whole journal")
            self.done = 0
        if self.done == self.size:
            return
        data = os.pread(self.fd, self.size - self.done, self.done)
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a torn last write (disk full mid-write): not a returned call
            log.warning("journal: dropped a torn last record of %d bytes", len(data) - end)
            os.ftruncate(self.fd, self.done + end)
            self.size = self.done + end
        self.pending.extend(line + b"\n" for line in data[:end].splitlines())
        if self.pending:
            log.info("journal: %d events from an earlier run to process", len(self.pending))

    def _to_memory(self, why):
        log.warning("journal: %s; keeping events in memory only (not durable)", why)
        for fd in (self.fd, self.pos_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.fd = self.pos_fd = None

    def append(self, line):
        """Caller's thread: one write, one deque append, under a lock only callers
        and the (rare) truncation take, never the network."""
        with self.lock:
            if self.fd is not None:
                try:
                    written = os.write(self.fd, line)
                except OSError as error:
                    written = -1
                    why = f"write failed ({error.strerror or error})"
                else:
                    why = "short write (disk full?)"
                if written == len(line):
                    self.size += written
                else:
                    self._to_memory(why)
            self.pending.append(line)

    def take(self, limit):
        """Worker: up to `limit` lines, oldest first (they stay counted until mark_done)."""
        lines = []
        pending = self.pending
        while pending and len(lines) < limit:
            lines.append(pending.popleft())
        return lines

    def mark_done(self, nbytes):
        """Worker: the next `nbytes` of the file are processed and stored downstream."""
        if self.fd is None:
            return
        with self.lock:
            self.done += nbytes
            try:
                if self.done >= self.size and not self.pending:
                    os.ftruncate(self.fd, 0)
                    self.size = self.done = 0
                os.pwrite(self.pos_fd, _POS.pack(self.done), 0)
            except OSError as error:
                self._to_memory(f"cannot update the marker ({error.strerror or error})")

    def sync(self):
        """Guard against power loss too (the app goes to the background, shutdown)."""
        fd = self.fd
        if fd is not None:
            try:
                os.fsync(fd)
                os.fsync(self.pos_fd)
            except OSError:
                pass

    def close(self):
        with self.lock:
            if self.fd is not None:
                self.sync()
                os.close(self.fd)
                os.close(self.pos_fd)
                self.fd = self.pos_fd = None
