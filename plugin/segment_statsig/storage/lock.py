"""One Analytics per storage folder: an exclusive lock on the folder's lock file.

The journal and the queues assume one writer: two processes (or two Analytics in one
process) on one folder would replay each other's records and send them twice, and
lose some under kills. So an Analytics holds `fcntl.flock` on the folder itself and on
its lock file (which earlier versions lock, and which says who holds it) from
construction to shutdown(); the kernel lets go of both when the process ends, kill -9
included, so a crash never leaves the folder locked. The folder's own lock holds
whatever the lock file has become (a folder, a socket: it is moved aside and made
anew). A second Analytics on a folder in use is refused before it accepts a single
call (StorageInUse, a ValueError, naming the process that holds it).

Where flock is missing (no fcntl) or the filesystem does not support it, the folder
is used unlocked, with a warning.
"""
from __future__ import annotations

import errno
import logging
import os

from .files import LOCK, open_file

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Optional

try:
    import fcntl
except ImportError:  # not a POSIX system
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("segment_statsig")


class StorageInUse(ValueError):
    """The storage folder belongs to another Analytics (another process, or this one)."""


class FolderLock:
    def __init__(self, directory: str) -> None:
        """Take the folder's lock, or raise StorageInUse."""
        self.fd: Optional[int] = None      # the lock file
        self.dir_fd: Optional[int] = None  # the folder
        if fcntl is None:
            log.warning("storage folder %r used without a lock (no fcntl here): one Analytics per folder", directory)
            return
        path = os.path.join(directory, LOCK)
        try:
            self.dir_fd = self._take(os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)), directory)
        except OSError:
            pass  # the lock file alone, then
        try:
            fd = open_file(path, os.O_RDWR | os.O_CREAT)
        except OSError as error:
            if self.dir_fd is None:
                log.warning("storage folder %r used without a lock (%s): one Analytics per folder",
                            directory, error.strerror or error)
            else:
                log.warning("%s unusable (%s); the storage folder is locked all the same", LOCK, error.strerror or error)
            return
        self.fd = self._take(fd, directory)
        if self.fd is None:
            if self.dir_fd is None:
                log.warning("storage folder %r used without a lock (the filesystem refuses locks): "
                            "one Analytics per folder", directory)
            return
        try:  # who holds it, for the refusal another Analytics gets
            before = os.pread(fd, 32, 0)
            if before.strip() and not before.strip().isdigit():
                log.warning("%s held something other than a process id (damaged); rewritten", LOCK)
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        except OSError:
            pass  # a full disk: the lock holds all the same

    def _take(self, fd: int, directory: str) -> Optional[int]:
        """flock `fd`: the fd, or None when the filesystem has no locks; StorageInUse when
        another Analytics holds it."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError as error:
            os.close(fd)
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                self.release()
                raise StorageInUse(_refusal(directory, _holder(os.path.join(directory, LOCK)))) from None
            return None  # e.g. ENOLCK: a filesystem without locks

    def release(self) -> None:
        """Let go (shutdown). Idempotent."""
        for fd in (self.fd, self.dir_fd):
            if fd is not None:
                try:
                    os.close(fd)  # closing the last descriptor releases the flock
                except OSError:
                    pass
        self.fd = self.dir_fd = None

    # An Analytics dropped without shutdown() (nothing keeps it alive: no worker ever
    # started) must not leave its folder locked for the rest of the process.
    __del__ = release


def _holder(path: str) -> Optional[int]:
    """The pid the lock file names, if it is a file that names one."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
        return int(text) if text.isdigit() else None
    except (OSError, UnicodeDecodeError):
        return None
    finally:
        os.close(fd)


def _refusal(directory: str, holder: Optional[int]) -> str:
    if holder == os.getpid():
        return (f"storage_dir {directory!r} is in use by another Analytics in this process; "
                f"call its shutdown() first, or give this one another storage_dir")
    who = f"process {holder}" if holder else "another process"
    return (f"storage_dir {directory!r} is in use by another Analytics ({who}); one Analytics per folder: "
            f"shut that one down first, or give each process its own storage_dir")
