"""One Analytics per storage folder: an exclusive lock on the folder's lock file.

The journal and the queues assume one writer: two processes (or two Analytics in one
process) on one folder would replay each other's records and send them twice, and
lose some under kills. So an Analytics holds `fcntl.flock` on the folder's lock file
from construction to shutdown(); the kernel lets go of it when the process ends,
kill -9 included, so a crash never leaves the folder locked. A second Analytics on a
folder in use is refused before it accepts a single call (StorageInUse, a
ValueError, naming the process that holds it).

Where flock is missing (no fcntl) or the filesystem does not support it, the folder
is used unlocked, with a warning.
"""
from __future__ import annotations

import errno
import logging
import os

from .files import LOCK

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
        self.fd: Optional[int] = None
        if fcntl is None:
            log.warning("storage folder %r used without a lock (no fcntl here): one Analytics per folder", directory)
            return
        fd = os.open(os.path.join(directory, LOCK), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                holder = _holder(fd)
                os.close(fd)
                raise StorageInUse(_refusal(directory, holder)) from None
            os.close(fd)  # e.g. ENOLCK: a filesystem without locks
            log.warning("storage folder %r used without a lock (%s): one Analytics per folder",
                        directory, error.strerror or error)
            return
        self.fd = fd
        try:  # who holds it, for the refusal another Analytics gets
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        except OSError:
            pass  # a full disk: the lock holds all the same

    def release(self) -> None:
        """Let go (shutdown). Idempotent."""
        fd, self.fd = self.fd, None
        if fd is not None:
            try:
                os.close(fd)  # closing the last descriptor releases the flock
            except OSError:
                pass

    # An Analytics dropped without shutdown() (nothing keeps it alive: no worker ever
    # started) must not leave its folder locked for the rest of the process.
    __del__ = release


def _holder(fd: int) -> Optional[int]:
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
        return int(text) if text.isdigit() else None
    except (OSError, UnicodeDecodeError):
        return None


def _refusal(directory: str, holder: Optional[int]) -> str:
    if holder == os.getpid():
        return (f"storage_dir {directory!r} is in use by another Analytics in this process; "
                f"call its shutdown() first, or give this one another storage_dir")
    who = f"process {holder}" if holder else "another process"
    return (f"storage_dir {directory!r} is in use by another Analytics ({who}); one Analytics per folder: "
            f"shut that one down first, or give each process its own storage_dir")
