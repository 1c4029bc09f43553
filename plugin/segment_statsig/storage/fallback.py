"""A queue whose file stopped taking writes (a full disk, an I/O error).

What the file already holds is still delivered from it (reads work on a full disk,
and a delivered row that cannot be deleted is marked, storage/queue.py), so nothing
is copied and nothing is sent twice; new events wait in memory (not durable, said in
a warning). Once the memory part is empty, the file is tried again now and then;
when it takes writes, the destination goes back to it (durable again).
"""
from __future__ import annotations

import logging
import os
import time

from .files import describe_error

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Callable, List, Optional

    from .._typing import QueueItem, QueueRow
    from .memory_queue import MemoryQueue
    from .queue import SqliteQueue

log = logging.getLogger("segment_statsig")

RETRY = 30.0  # seconds between tries of the file while it refuses writes


class FallbackQueue:
    durable = False

    def __init__(self, disk: Optional[SqliteQueue], memory: MemoryQueue,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.disk = disk        # the SqliteQueue that refused a write, or None when it cannot even be read
        self.memory = memory    # ids above every id of the disk part
        self.clock = clock
        self.retry_at = clock() + RETRY
        self.healed = False     # the file took writes again: the destination may use it alone

    @property
    def count(self) -> int:
        return (self.disk.count if self.disk is not None else 0) + self.memory.count

    @property
    def bytes(self) -> int:
        return (self.disk.bytes if self.disk is not None else 0) + self.memory.bytes

    def put_many(self, items: List[QueueItem]) -> int:
        if self.disk is not None and not self.memory.count and self.clock() >= self.retry_at:
            try:
                dropped = self.disk.put_many(items)
            except Exception:
                self.retry_at = self.clock() + RETRY
            else:
                self.healed = True
                log.warning("queue %s takes writes again; events are durable again", self._name())
                return dropped
        return self.memory.put_many(items)

    def peek(self, limit: int) -> List[QueueRow]:
        if self.disk is not None and self.disk.count:
            try:
                return self.disk.peek(limit)
            except Exception as error:  # unreadable too: what it holds stays in it for the next start
                log.warning("queue %s cannot be read either (%s); its events stay in it for the next start",
                            self._name(), describe_error(error))
                self._drop_disk()
        return self.memory.peek(limit)

    def remove(self, ids: List[int]) -> int:
        if not ids:
            return 0
        if max(ids) < self.memory.first_id:
            return self.disk.remove(ids) if self.disk is not None else 0
        return self.memory.remove(ids)

    def forget(self) -> None:
        if self.disk is not None:
            self.disk.forget()
        self.memory.forget()

    def purge(self) -> int:
        return (self.disk.purge() if self.disk is not None else 0) + self.memory.purge()

    def close(self) -> None:
        """Events still in memory go into the file if it takes them now; else they
        are lost with the process, and the log says how many."""
        if self.memory.count:
            held = self.memory.peek(self.memory.count)
            try:
                if self.disk is None:
                    raise OSError("no queue file")
                self.disk.put_many([(None, text) for _, text in held])
            except Exception as error:
                log.warning("queue %s: %d events kept in memory are lost at close (%s)",
                            self._name(), len(held), describe_error(error))
        self._drop_disk()

    def _drop_disk(self) -> None:
        disk, self.disk = self.disk, None
        if disk is not None:
            disk.close()

    def _name(self) -> str:
        return os.path.basename(self.disk.path) if self.disk is not None else "(in memory)"
