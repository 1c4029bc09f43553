"""Who the events are about: anonymousId (persisted), userId and traits (persisted,
merged by identify, cleared by reset)."""
from __future__ import annotations

import json
import threading
import uuid

from . import jsonsafe
from .events import ids_text
from ..storage.files import USER, read_json, write_json

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, Optional


class Identity:
    def __init__(self, directory: Optional[str]) -> None:
        self.directory = directory
        self.lock = threading.Lock()
        saved = read_json(directory, USER) or {}
        self.anonymous_id: str = saved.get("anonymousId") or str(uuid.uuid4())
        self.user_id: Optional[str] = saved.get("userId")
        traits = saved.get("traits")
        self.traits: Dict[str, Any] = traits if isinstance(traits, dict) else {}
        self.ids_json = ""
        if saved.get("anonymousId"):
            self._ids()
        else:
            self._save()

    def identify(self, user_id: Optional[str], traits_json: str) -> None:
        """`traits_json`: the traits as the journal wrote them (JSON-safe)."""
        with self.lock:
            if user_id is not None:
                self.user_id = user_id
            if traits_json != "{}":
                self.traits = {**self.traits, **json.loads(traits_json)}
            self._save()

    def alias(self, new_id: str) -> None:
        with self.lock:
            self.user_id = new_id
            self._save()

    def reset(self) -> None:
        with self.lock:
            self.anonymous_id = str(uuid.uuid4())
            self.user_id = None
            self.traits = {}
            self._save()

    def _ids(self) -> None:
        # The journal record's [anonymousId, userId] text, made once per change, not per call.
        self.ids_json = ids_text(self.anonymous_id, self.user_id)

    def _save(self) -> None:
        self._ids()
        write_json(self.directory, USER, jsonsafe.dumps(
            {"anonymousId": self.anonymous_id, "userId": self.user_id, "traits": self.traits}, "traits"))
