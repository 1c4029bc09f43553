"""Values the store did not fetch for the current user: an initialize reply the app
bootstrapped (``Bootstrap``, as the JS client's ``dataAdapter.setData``) or one fetched
ahead for a user the app is about to switch to (``Prefetch``). Kept by identity key, in
memory, at most MAX_SEEDS."""
from __future__ import annotations

import logging
import threading
import time

from ..delivery import policy
from .initialize_reply import MalformedReply, parse_reply

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

    from .values_thread import ValuesThread

log = logging.getLogger("segment_statsig")

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


def fetch_seed(store: ValuesThread, key: str, user: Dict[str, Any]) -> None:
    """On the store's thread: one initialize for another user (`key`, `user`), kept as a
    Prefetch seed and in the disk cache. A failure is logged and leaves nothing behind."""
    api_key = store.key_fn()
    if api_key is None or not store.allowed_fn():
        log.warning("Statsig values: prefetch skipped (%s)", "no key yet" if api_key is None else "opted out")
        return
    result = store.transport.initialize(api_key, user, store.metadata_fn())
    try:
        if not policy.delivered(result.status):
            raise MalformedReply(f"HTTP {result.status}: {result.reply[:200]}")
        reply = parse_reply(result.reply)
        if reply.get("has_updates") is False:
            raise MalformedReply("no values (has_updates false)")
    except MalformedReply as error:
        log.warning("Statsig values: prefetch failed: %s", error)
        return
    received_at = int(time.time() * 1000)
    store.seeds.put(key, "Prefetch", reply, received_at, [])
    store.cache.write(key, reply, received_at)
