"""Who the events are about: anonymousId (persisted), userId and traits (persisted,
merged by identify, cleared by reset)."""
from __future__ import annotations

import json
import logging
import threading
import uuid

from . import jsonsafe
from .events import ids_text
from ..storage.files import USER, read_json, write_json

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Optional

log = logging.getLogger("segment_statsig")


class Identity:
    def __init__(self, directory: Optional[str], generator: Optional[Callable[[], str]] = None) -> None:
        self.directory = directory
        self.generator = generator  # Analytics(anonymous_id_generator=...): the app's own IDs
        self.lock = threading.Lock()
        saved = read_json(directory, USER) or {}
        self.anonymous_id: str = saved.get("anonymousId") or self._new_id()
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
            self.anonymous_id = self._new_id()
            self.user_id = None
            self.traits = {}
            self._save()

    def _new_id(self) -> str:
        """The app's generator's ID; a uuid4 when there is none, or it fails or gives no
        usable text (logged: a new user must not fail the call that made it)."""
        if self.generator is not None:
            try:
                made = self.generator()
            except Exception:
                log.exception("anonymous_id_generator failed; using a uuid4")
            else:
                if isinstance(made, str) and made.strip():
                    return made
                log.error("anonymous_id_generator returned %r, not a non-empty str; using a uuid4", made)
        return str(uuid.uuid4())

    def _ids(self) -> None:
        # The journal record's [anonymousId, userId] text, made once per change, not per call.
        self.ids_json = ids_text(self.anonymous_id, self.user_id)

    def _save(self) -> None:
        self._ids()
        write_json(self.directory, USER, jsonsafe.dumps(
            {"anonymousId": self.anonymous_id, "userId": self.user_id, "traits": self.traits}, "traits"))
