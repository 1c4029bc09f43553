"""Names the annotations share. Only type checkers read this module: the package imports
it under ``if TYPE_CHECKING:`` alone, so that ``typing`` (milliseconds) stays off the
app's start path."""
from __future__ import annotations

import datetime
import os
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

#: A Segment Spec event as plugins see it (track, screen, page, identify, group, alias):
#: JSON data, changed in place or replaced by the plugins it passes through.
Event = Dict[str, Any]
#: Segment's settings for a write key: ``integrations``, ``middlewareSettings``,
#: ``consentSettings`` (from the CDN, the disk cache or ``Analytics(settings=...)``).
Settings = Dict[str, Any]
#: What ``timestamp=`` takes: a datetime (naive = UTC), unix seconds or ISO-8601 text.
Timestamp = Union[datetime.datetime, float, str]
#: What ``storage_dir=`` takes.
StrPath = Union[str, "os.PathLike[str]"]
#: A destination's delivery listener: ``callback(state, events, status)``.
Listener = Callable[[str, List[Dict[str, Any]], Optional[int]], Any]
#: What a queue stores: (message id, or None when the item needs no replay guard, JSON text).
QueueItem = Tuple[Optional[str], str]
#: What a queue gives back to send: (row id, JSON text).
QueueRow = Tuple[int, str]
