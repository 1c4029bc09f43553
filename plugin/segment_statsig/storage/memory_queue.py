"""A destination's queue in memory: what a folder that cannot hold a SQLite file gets
(bounded like the durable queue, the oldest first out). Nothing in it survives a crash."""
from __future__ import annotations

import collections
import threading

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Deque, List

    from .._typing import QueueItem, QueueRow


class MemoryQueue:
    durable = False

    def __init__(self, max_events: int, max_bytes: int, first_id: int = 1) -> None:
        self.max_events, self.max_bytes = max_events, max_bytes
        self.items: Deque[QueueRow] = collections.deque()  # (id, text)
        self.next_id = self.first_id = first_id
        self.count = self.bytes = 0
        self.lock = threading.Lock()

    def put_many(self, items: List[QueueItem]) -> int:
        """Store (message id, text) items; returns how many of the oldest were dropped to
        stay in bounds. (In memory nothing survives a crash, so ids need no checking.)"""
        with self.lock:
            for _, text in items:
                self.items.append((self.next_id, text))
                self.next_id += 1
                self.bytes += len(text)
            self.count = len(self.items)
            dropped = 0
            while self.count > self.max_events or (self.bytes > self.max_bytes and self.count > 1):
                _, text = self.items.popleft()
                self.bytes -= len(text)
                self.count -= 1
                dropped += 1
            return dropped

    def peek(self, limit: int) -> List[QueueRow]:
        with self.lock:
            return [self.items[i] for i in range(min(limit, len(self.items)))]

    def remove(self, ids: List[int]) -> int:
        """Remove rows a peek() returned (the oldest, so every row up to the last of
        them); returns how many were still there."""
        if not ids:
            return 0
        last = max(ids)
        removed = 0
        with self.lock:
            while self.items and self.items[0][0] <= last:
                self.bytes -= len(self.items.popleft()[1])
                removed += 1
            self.count = len(self.items)
            return removed

    def forget(self) -> None:
        pass

    def purge(self) -> int:
        """Erase every event; returns how many."""
        with self.lock:
            erased = len(self.items)
            self.items.clear()
            self.count = self.bytes = 0
            return erased

    def close(self) -> None:
        pass
