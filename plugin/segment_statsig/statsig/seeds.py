"""Values the store did not fetch for the current user: an initialize reply the app
bootstrapped (``Bootstrap``, as the JS client's ``dataAdapter.setData``) or one fetched
ahead for a user the app is about to switch to (``Prefetch``). Kept by identity key, in
memory, at most MAX_SEEDS."""
from __future__ import annotations

import threading

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

MAX_SEEDS = 10


class Seed:
    __slots__ = ("source", "reply", "received_at", "warnings", "bootstrap_metadata")

    def __init__(self, source: str, reply: Dict[str, Any], received_at: int, warnings: List[str]) -> None:
        self.source, self.reply, self.received_at, self.warnings = source, reply, received_at, warnings
        # what the JS client puts on exposures of bootstrap values: the reply's user, generator and lcut
        self.bootstrap_metadata: Optional[Dict[str, Any]] = None
        if source == "Bootstrap":
            metadata: Dict[str, Any] = {}
            if reply.get("user"):
                metadata["user"] = reply["user"]
            if reply.get("sdkInfo"):
                metadata["generatorSDKInfo"] = reply["sdkInfo"]
            metadata["lcut"] = reply.get("time")
            self.bootstrap_metadata = metadata


class Seeds:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: Dict[str, Seed] = {}

    def put(self, key: str, source: str, reply: Dict[str, Any], received_at: int, warnings: List[str]) -> Seed:
        seed = Seed(source, reply, received_at, warnings)
        with self._lock:
            self._by_key.pop(key, None)
            while len(self._by_key) >= MAX_SEEDS:  # the oldest first
                self._by_key.pop(next(iter(self._by_key)))
            self._by_key[key] = seed
        return seed

    def get(self, key: str) -> Optional[Seed]:
        with self._lock:
            return self._by_key.get(key)
