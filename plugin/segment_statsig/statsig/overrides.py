"""Local overrides for QA, as @statsig/js-local-overrides keeps them: a tester forces a
gate, config, experiment, layer or parameter store, for everyone or for one user ID, and
the override is kept in the storage folder (``statsig-overrides.json``) across restarts.

Evaluation asks ``find(kind, name, user_id)`` at its one point (statsig/evaluator.py);
the answer carries the reason the JS client gives, ``LocalOverride:Recognized``. A name is
matched as given or by its djb2 hash, as the JS adapter does.
"""
from __future__ import annotations

import copy
import json
import logging
import threading

from ..analytics.jsonsafe import compact
from ..storage.files import STATSIG_OVERRIDES, read_json, write_json
from .initialize_reply import djb2

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Optional

log = logging.getLogger("segment_statsig")

REASON = "LocalOverride:Recognized"
#: our kinds -> the JS adapter's OverrideStore sections (get_all_overrides() answers in these)
SECTIONS = {"gate": "gate", "config": "dynamicConfig", "experiment": "experiment", "layer": "layer",
            "param_store": "paramStore"}
EVERYONE = ""  # the scope of an override set without user_id


def _empty() -> Dict[str, Dict[str, Any]]:
    return {section: {} for section in SECTIONS.values()}


class LocalOverrides:
    """The override adapter: every override by scope (a user ID, or everyone), section and
    name. Thread-safe; writes go to disk at once (a tester's tap, not a hot path)."""

    def __init__(self, directory: Optional[str], on_change: Optional[Callable[[], None]] = None) -> None:
        self.directory = directory
        self.on_change = on_change  # called after each change, outside the lock (the listeners' event)
        self._lock = threading.Lock()
        self._scopes: Dict[str, Dict[str, Dict[str, Any]]] = {}
        stored = read_json(directory, STATSIG_OVERRIDES) or {}
        scopes = stored.get("scopes")
        for scope, sections in (scopes.items() if isinstance(scopes, dict) else ()):
            if isinstance(scope, str) and isinstance(sections, dict):
                self._scopes[scope] = {s: dict(sections[s]) if isinstance(sections.get(s), dict) else {}
                                       for s in SECTIONS.values()}

    # --- setting them --------------------------------------------------------------
    def set(self, kind: str, name: str, value: Any, user_id: Optional[str] = None) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {kind} name must be a non-empty str")
        if kind == "gate" and not isinstance(value, bool):
            raise TypeError("a gate override is a bool")
        if kind != "gate" and not isinstance(value, dict):
            raise TypeError(f"a {kind} override is a dict of values")
        try:  # kept as JSON: what a restart reads back must be what was set
            value = json.loads(json.dumps(value))
        except (TypeError, ValueError) as error:
            raise TypeError(f"a {kind} override must hold JSON values: {error}") from None
        with self._lock:
            section = self._scopes.setdefault(self._scope(user_id), _empty())[SECTIONS[kind]]
            section[name] = value
            self._save()
        self._changed()

    def remove(self, kind: str, name: str, user_id: Optional[str] = None) -> None:
        with self._lock:
            sections = self._scopes.get(self._scope(user_id))
            removed = sections is not None and sections[SECTIONS[kind]].pop(name, None) is not None
            if removed:
                self._save()
        if removed:
            self._changed()

    def remove_all(self, user_id: Optional[str] = None) -> None:
        """Every override of `user_id`'s scope (None: the ones for everyone)."""
        with self._lock:
            removed = self._scopes.pop(self._scope(user_id), None) is not None
            if removed:
                self._save()
        if removed:
            self._changed()

    def all(self, user_id: Optional[str] = None) -> Dict[str, Dict[str, Any]]:
        """A copy, in the JS adapter's OverrideStore shape (gate, dynamicConfig, experiment,
        layer, paramStore), of the overrides of `user_id`'s scope (None: for everyone)."""
        with self._lock:
            return copy.deepcopy(self._scopes.get(self._scope(user_id)) or _empty())

    @property
    def any(self) -> bool:
        """Is any override set? (The usual answer, no, costs a check nothing more.)"""
        return bool(self._scopes)

    # --- the evaluation point ---------------------------------------------------------
    def find(self, kind: str, name: str, user_id: Optional[str]) -> Optional[Any]:
        """The override of `name` for this user (their own before everyone's), or None."""
        section = SECTIONS[kind]
        with self._lock:
            for scope in (("user:" + user_id, EVERYONE) if user_id else (EVERYONE,)):
                found = (self._scopes.get(scope) or {}).get(section)
                if not found:  # (the usual case: no hash to compute on a check)
                    continue
                value = found.get(name)
                if value is None:
                    value = found.get(djb2(name))
                if value is not None:
                    return copy.deepcopy(value)
        return None

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _scope(self, user_id: Optional[str]) -> str:
        if user_id is None:
            return EVERYONE
        if not isinstance(user_id, str) or not user_id:
            raise ValueError("user_id must be a non-empty str, or None for everyone")
        return "user:" + user_id

    def _save(self) -> None:
        """With the lock held."""
        if self.directory is not None:
            write_json(self.directory, STATSIG_OVERRIDES, compact({"scopes": self._scopes}))
