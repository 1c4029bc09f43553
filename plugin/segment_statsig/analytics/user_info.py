"""Who the events are about, told to the app: subscribers get (anonymous ID, user ID,
traits) once when they subscribe and after each change, on a thread of their own, never
the caller's (analytics-swift's subscribe to UserInfo)."""
from __future__ import annotations

import logging
import threading

TYPE_CHECKING = False  # mypy reads the block below; at run time typing stays unloaded
if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor
    from typing import Any, Callable, Dict, NamedTuple, Optional

    class UserInfo(NamedTuple):
        anonymous_id: str
        user_id: Optional[str]
        traits: Dict[str, Any]

    Subscriber = Callable[[UserInfo], None]
else:
    from collections import namedtuple

    UserInfo = namedtuple("UserInfo", ["anonymous_id", "user_id", "traits"])

log = logging.getLogger("segment_statsig")


class UserInfoSubscriptions:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.subscribers: Dict[int, Subscriber] = {}
        self.next_id = 0
        self.executor: Optional[ThreadPoolExecutor] = None  # one thread, made at the first subscription

    def subscribe(self, fn: Subscriber, current: UserInfo) -> Callable[[], None]:
        if not callable(fn):
            raise TypeError(f"subscribe_to_user_info(fn): fn must be callable, not {fn!r}")
        with self.lock:
            if self.executor is None:
                from concurrent.futures import ThreadPoolExecutor

                self.executor = ThreadPoolExecutor(1, thread_name_prefix="segment-statsig-user-info")
            self.next_id += 1
            key = self.next_id
            self.subscribers[key] = fn
            self.executor.submit(self._tell, {key: fn}, current)

        def unsubscribe() -> None:
            with self.lock:
                self.subscribers.pop(key, None)
        return unsubscribe

    def changed(self, info: UserInfo) -> None:
        """The caller's thread, right after the change: hand it to the subscribers' thread."""
        if self.subscribers:
            with self.lock:
                if self.executor is not None and self.subscribers:
                    self.executor.submit(self._tell, None, info)

    def _tell(self, only: Optional[Dict[int, Subscriber]], info: UserInfo) -> None:
        with self.lock:
            subscribers = dict(only if only is not None else self.subscribers)
        for key, fn in subscribers.items():
            if key not in self.subscribers:
                continue  # unsubscribed meanwhile
            try:
                fn(info)
            except Exception:
                log.exception("user info subscriber %s failed", getattr(fn, "__qualname__", fn))

    def close(self) -> None:
        """shutdown(): what was already handed over is still told; nothing new is taken."""
        with self.lock:
            executor, self.executor = self.executor, None
            self.subscribers.clear()
        if executor is not None:
            executor.shutdown(wait=False)
