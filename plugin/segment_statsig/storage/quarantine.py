"""Events set aside: a record the timeline could not process, or an event a destination
failed on, is written here with the error instead of being lost or retried at the head
of the journal forever. One JSON line each, in the storage folder's QUARANTINE file,
bounded in size (past the bound only the log line and the count remain)."""
from __future__ import annotations

import datetime
import json
import logging
import os

from .files import QUARANTINE, open_file

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Optional

log = logging.getLogger("segment_statsig")

MAX_BYTES = 1024 * 1024


def set_aside(directory: Optional[str], where: str, error: BaseException, record: Any) -> bool:
    """Append `record` (the journal line's text, or the event dict) with why it failed.
    Returns True when it was written; never raises."""
    if directory is None:
        return False
    entry = {"at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
             "where": where, "error": f"{type(error).__name__}: {error}"}
    try:
        line = json.dumps({**entry, "record": record}, default=repr, ensure_ascii=True) + "\n"
    except (ValueError, TypeError, RecursionError):  # nested too deeply, a cycle: kept as jsonsafe writes it
        from ..analytics.jsonsafe import dumps

        line = json.dumps(entry, ensure_ascii=True)[:-1] + ',"record":' + dumps(record, "a quarantined event") + "}\n"
    path = os.path.join(directory, QUARANTINE)
    try:
        fd = open_file(path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
        try:
            size = os.fstat(fd).st_size
            if size + len(line) > MAX_BYTES:
                log.warning("quarantine file is full (%d bytes); this event is only logged", MAX_BYTES)
                return False
            if size and os.pread(fd, 1, size - 1) != b"\n":  # damage, or a write cut short
                log.warning("%s ends mid-line (damaged or cut short); this record starts a new line", QUARANTINE)
                line = "\n" + line
            os.write(fd, line.encode("ascii"))
        finally:
            os.close(fd)
        return True
    except OSError as failure:
        log.warning("cannot write the quarantine file %s (%s)", QUARANTINE, failure.strerror or failure)
        return False


def erase(directory: Optional[str]) -> None:
    """Remove the quarantine file (Analytics.purge)."""
    if directory is None:
        return
    try:
        os.unlink(os.path.join(directory, QUARANTINE))
    except FileNotFoundError:
        pass
    except OSError as failure:
        log.warning("cannot erase the quarantine file (%s)", failure.strerror or failure)


def describe(event: Any) -> str:
    """'track "Login Button Clicked" (messageId …)': how a log line names an event."""
    if not isinstance(event, dict):
        return "an unreadable record"
    name = event.get("event") if event.get("type") == "track" else event.get("name")
    label = f"{event.get('type')} {name!r}" if name is not None else str(event.get("type"))
    return f"{label} (messageId {event.get('messageId')})"
