"""The journal after shutdown(): a call made then still waits in the journal file for
the next start, written under the folder's lock for that moment."""
from __future__ import annotations

import logging

from .journal import Journal

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Optional

log = logging.getLogger("segment_statsig")


class ClosedJournal:
    """The journal after shutdown(): a later call still waits for the next start in
    the journal file, written under the folder's lock for that moment (another
    Analytics may own the folder by then: the call is dropped, with a warning)."""
    pending = False

    def __init__(self, directory: Optional[str]) -> None:
        self.directory = directory

    def append(self, line: bytes) -> None:
        from .lock import FolderLock, StorageInUse

        kind = line[2:line.find(b'"', 2)].decode("ascii", "replace")
        if self.directory is None:
            log.warning("a %s call after shutdown() was dropped: no storage folder to keep it in", kind)
            return
        try:
            lock = FolderLock(self.directory)
        except (StorageInUse, OSError) as error:
            log.warning("a %s call after shutdown() was dropped: %s", kind, error)
            return
        try:
            journal = Journal(self.directory)
            journal.append(line)
            journal.close()
        finally:
            lock.release()

    def sync(self) -> None:
        pass

    def close(self) -> None:
        pass
