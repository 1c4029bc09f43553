"""The last good initialize reply of each user, on disk, so a cold start offline still
answers: ``statsig-values-<hash>.json`` in the storage folder (mode 0600), ``<hash>`` a
SHA-256 of the user's identity, so neither the user's IDs nor the key appear in a file
name. At most MAX_CACHED_USERS files; the oldest go first."""
from __future__ import annotations

import hashlib
import json
import logging
import os

from ..analytics.jsonsafe import compact
from ..storage.files import STATSIG_VALUES, read_json, write_json
from .initialize_reply import MalformedReply, check_reply

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, Optional, Tuple

log = logging.getLogger("segment_statsig")

MAX_CACHED_USERS = 10


def cache_name(key: str) -> str:
    return STATSIG_VALUES + hashlib.sha256(key.encode("utf-8")).hexdigest()[:40] + ".json"


class ValuesCache:
    def __init__(self, directory: Optional[str]) -> None:
        self.directory = directory

    def read(self, key: str) -> Optional[Tuple[Dict[str, Any], Optional[int]]]:
        """(the reply saved for identity `key`, when it was received in ms), or None (none,
        or unreadable: logged)."""
        if self.directory is None:
            return None
        name = cache_name(key)
        stored = read_json(self.directory, name)  # none, or unreadable (logged): None
        if stored is None:
            return None
        try:
            values = check_reply(stored.get("values"))
            if values.get("has_updates") is False:
                raise MalformedReply("it holds no values")
            saved_at = stored.get("saved_at")
            return values, saved_at if type(saved_at) is int else None
        except (ValueError, RecursionError) as error:  # damage of any kind: the network answers anew
            why = "nested too deeply to read" if isinstance(error, RecursionError) else error
            log.warning("Statsig values: ignoring unreadable cache %s: %s", name, why)
            return None

    def write(self, key: str, reply: Dict[str, Any], received_at: int) -> None:
        name = cache_name(key)
        text = compact({"saved_at": received_at, "values": reply})
        if write_json(self.directory, name, text):
            self._prune(name)

    def _prune(self, keep: str) -> None:
        assert self.directory is not None
        try:
            names = [n for n in os.listdir(self.directory) if n.startswith(STATSIG_VALUES) and n.endswith(".json")]
            if len(names) <= MAX_CACHED_USERS:
                return
            paths = sorted((os.path.join(self.directory, n) for n in names if n != keep), key=os.path.getmtime)
            for path in paths[:len(names) - MAX_CACHED_USERS]:
                os.unlink(path)
        except OSError:
            pass
