"""The caller's arguments, checked on the caller's thread: only a programmer error raises,
and only ValueError or TypeError, with a message saying what was wrong."""
from __future__ import annotations

import collections.abc
import logging

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, Optional

log = logging.getLogger("segment_statsig")


def name(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{what} must not be empty")
    return value


def mapping(value: object, what: str) -> Dict[str, Any]:
    if value is None:
        return {}
    if type(value) is dict:
        return value
    if isinstance(value, collections.abc.Mapping):
        try:
            return dict(value.items())
        except Exception as error:  # a mapping that cannot be read: its data is lost, not the event
            log.warning("%s: a %s that cannot be read (%s: %s); sent as {}", what, type(value).__name__,
                        type(error).__name__, error)
            return {}
    raise TypeError(f"{what} must be a dict, not {type(value).__name__}")


def user_id(value: object, what: str = "user_id") -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"{what} must be a str (or an int), not {type(value).__name__}")
    value = str(value)
    if not value.strip():
        raise ValueError(f"{what} must not be empty")
    return value
