"""Who the events are about: anonymousId (persisted), userId and traits (persisted,
merged by identify, cleared by reset).

A change is made in memory on the caller's thread and is durable through the journal
record of its call (identify, alias and reset records carry the identity after the
change, identify's its traits). user.json is written off the caller's thread: by the
timeline worker before it lets those records go (and by shutdown). A start reads
user.json, then replays the identity changes of the records an earlier run left
unprocessed."""
from __future__ import annotations

import logging
import threading
import uuid

from . import jsonsafe
from .events import RESET, ids_text
from ..storage.files import USER, read_json, write_json
from ..storage.records import read_records

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional

log = logging.getLogger("segment_statsig")

# The record types that change the identity, in the order a restart replays them.
CHANGES = ("identify", "alias", RESET)


class Identity:
    def __init__(self, directory: Optional[str], unprocessed: Optional[List[bytes]] = None,
                 generator: Optional[Callable[[], str]] = None) -> None:
        """`unprocessed`: an earlier run's journal lines of the CHANGES types, in call order;
        `generator`: Analytics(anonymous_id_generator=...), the app's own IDs."""
        self.directory = directory
        self.generator = generator
        self.lock = threading.Lock()        # the state below; held for memory work only
        self._save_lock = threading.Lock()  # one writer of user.json at a time
        saved = read_json(directory, USER) or {}
        self.anonymous_id: str = saved.get("anonymousId") or self._new_id()
        self.user_id: Optional[str] = saved.get("userId")
        traits = saved.get("traits")
        # Updated in place under the lock (a small identify costs its own traits, not all
        # those held); its values are never changed in place: a shallow copy is a snapshot.
        self.traits: Dict[str, Any] = traits if isinstance(traits, dict) else {}
        self.version = self.saved = 0   # changes made; the change user.json holds
        replayed = self._replay(unprocessed or [])
        self._ids()
        if not saved.get("anonymousId") or replayed:
            self.version = 1
            self.save()  # at construction, not on a call: a first start's new anonymousId, a replay's result

    def _replay(self, lines: List[bytes]) -> bool:
        """Apply the changes an earlier run journaled but did not save (user.json may
        hold some of them already: replaying them again in order gives the same result)."""
        records, _ = read_records(lines)  # damage costs its own lines only, as for the events
        for kind, _time, _id, anonymous_id, user_id, fields, *_ in records:
            if kind == RESET:
                self.traits = {}
            elif kind == "identify" and isinstance(fields, dict) and isinstance(fields.get("traits"), dict):
                self.traits.update(fields["traits"])
            if isinstance(anonymous_id, str) and anonymous_id:
                self.anonymous_id = anonymous_id
            self.user_id = user_id if isinstance(user_id, str) else None
        return bool(records)

    # --- the caller's thread: memory only -----------------------------------------
    def identify(self, user_id: Optional[str], traits: Dict[str, Any]) -> None:
        """`traits`: JSON-safe (as the journal wrote them), owned by the identity from now on."""
        with self.lock:
            if user_id is not None:
                self.user_id = user_id
            if traits:
                self.traits.update(traits)
            self._changed()

    def alias(self, new_id: str) -> None:
        with self.lock:
            self.user_id = new_id
            self._changed()

    def reset(self) -> None:
        with self.lock:
            self.anonymous_id = self._new_id()
            self.user_id = None
            self.traits = {}
            self._changed()

    def copy_traits(self) -> Dict[str, Any]:
        with self.lock:
            return dict(self.traits)

    def _changed(self) -> None:
        self.version += 1
        self._ids()

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

    # --- the timeline worker (and shutdown) ------------------------------------------
    def save(self) -> None:
        """Write user.json if it is behind; before the records holding the changes leave
        the journal. Serialised outside the lock: a call never waits for it."""
        with self._save_lock:
            with self.lock:
                if self.saved == self.version:
                    return
                version = self.version
                state = {"anonymousId": self.anonymous_id, "userId": self.user_id, "traits": dict(self.traits)}
            if write_json(self.directory, USER, jsonsafe.dumps(state, "traits")) or self.directory is None:
                self.saved = version
