"""The storage folder: every file the library keeps there, named once, and the small
JSON files among them, written whole (temp file + rename), mode 0600."""
from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import threading

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, Optional

log = logging.getLogger("segment_statsig")

# Every file in the storage folder (folder 0700, files 0600).
LOCK = "lock"                          # held (flock) by the one Analytics using the folder; its pid (storage/lock.py)
JOURNAL = "journal"                    # calls not yet processed, one JSON line each (storage/journal.py)
JOURNAL_POSITION = "journal.pos"       # how far the journal is processed: 8 bytes little-endian + an 8-byte check
USER = "user.json"                     # anonymousId, userId, traits (analytics/identity.py)
SETTINGS = "settings.json"             # the last settings Segment's CDN gave (analytics/settings.py)
APP = "app.json"                       # the app version and build seen last (lifecycle events)
PRIVACY = "privacy.json"               # {"enabled": false} once the user opted out (Analytics.enabled)
STATSIG_QUEUE = "statsig-queue.sqlite3"  # Statsig events to deliver (+ -wal, -shm; storage/queue.py)
SEGMENT_QUEUE = "segment-queue.sqlite3"  # the cloud leg's events to deliver (+ -wal, -shm)
QUEUE_DELIVERED = "-delivered"         # + after a queue's name: its rows delivered while the disk was full (16 bytes)
STATSIG_VALUES = "statsig-values-"     # + <hash of the user>.json: gate values per user (statsig/values_cache.py)
STATSIG_SPECS = "statsig-specs.json"   # the last config specs downloaded, for on-device evaluation (statsig/on_device/store.py)
QUARANTINE = "quarantine.jsonl"        # events that could not be processed, with the error (storage/quarantine.py)
# Transient: "<name>.tmp" while a JSON file is replaced, ".probe-<pid>-<thread>" while the
# folder is checked, "<queue>.corrupt-<time>" a queue file SQLite could not read, moved aside.


def default_storage_dir(write_key: Optional[str]) -> str:
    """~/.segment-statsig/<16 hex digits of the write key's SHA-256> (or device-mode):
    the folder name must not show the key in a log line or a repr. A folder an earlier
    version named after the key itself is moved to the new name."""
    root = os.path.join(os.path.expanduser("~"), ".segment-statsig")
    if write_key is None:
        return os.path.join(root, "device-mode")
    path = os.path.join(root, hashlib.sha256(write_key.encode("utf-8")).hexdigest()[:16])
    old = os.path.join(root, write_key)
    if os.sep not in write_key and write_key not in (".", "..") and not os.path.exists(path):
        try:
            os.replace(old, path)
        except OSError:
            pass  # nothing there (the usual case), or it cannot be moved: start afresh
    return path


def make_dir(path: str) -> Optional[str]:
    """Create the storage folder (0700); None when it cannot be used."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        # A name of this process and thread: two starting at once must not remove each
        # other's probe (the loser would see a missing file and go to memory, unlocked).
        probe = os.path.join(path, f".probe-{os.getpid()}-{threading.get_ident()}")
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        os.unlink(probe)
        return path
    except OSError as error:
        log.warning("storage folder %r unusable (%s); keeping state in memory", path, error.strerror or error)
        return None


def read_json(directory: Optional[str], name: str) -> Optional[Dict[str, Any]]:
    """The JSON object in `name`, or None (no such file, or not a JSON object: logged)."""
    if directory is None:
        return None
    try:
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            value = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.warning("ignoring unreadable %s: %s", name, error)
        return None
    if not isinstance(value, dict):  # every file read here holds an object; anything else is damage
        log.warning("ignoring unreadable %s: a JSON %s, not an object", name, type(value).__name__)
        return None
    return value


def write_json(directory: Optional[str], name: str, text: str) -> bool:
    """Replace `name` with `text` (already JSON). No fsync: survives a crash of the
    app, which is what the caller's thread must guarantee; power loss is the
    journal's sync's business."""
    if directory is None:
        return False
    path = os.path.join(directory, name)
    tmp = path + ".tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)
        os.replace(tmp, path)
        return True
    except OSError as error:
        log.warning("cannot write %s: %s", name, error.strerror or error)
        return False


_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def describe_error(error: BaseException) -> str:
    """A storage error in a few words, saying so plainly when the disk is full."""
    if isinstance(error, OSError) and error.errno in _FULL or "database or disk is full" in str(error):
        return f"the disk is full: {getattr(error, 'strerror', None) or error}"
    if isinstance(error, OSError) and error.errno == errno.EFBIG:
        return f"the file size limit is reached: {error.strerror}"
    return str(getattr(error, "strerror", None) or error)
