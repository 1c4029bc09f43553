"""The storage folder: every file the library keeps there, named once, and the small
JSON files among them, written whole (temp file + rename), mode 0600."""
from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import stat
import threading
import time

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
STATSIG_OVERRIDES = "statsig-overrides.json"  # local overrides a tester set (statsig/overrides.py)
STATSIG_SESSION = "statsig-session.json"  # the Statsig session: id, start, last activity (statsig/session.py)
STATSIG_SPECS = "statsig-specs.json"   # the last config specs downloaded, for on-device evaluation (statsig/on_device/store.py)
QUARANTINE = "quarantine.jsonl"        # events that could not be processed, with the error (storage/quarantine.py)
# Transient: "<name>.tmp" while a JSON file is replaced, ".probe-<pid>-<thread>" while the
# folder is checked, "<queue>.salvage" while the readable rows of a damaged queue are copied.
# Moved aside, never read again: "<name>.corrupt-<time>", a damaged queue file (once what it
# held was salvaged) or anything found where a file was expected (a folder, a socket, a FIFO).


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
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:  # an existing folder (Kivy makes user_data_dir 0755): ours alone
            os.chmod(path, mode & 0o700)
            log.info("storage folder %r had mode %o; now %o", path, mode, mode & 0o700)
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
        with open(open_file(os.path.join(directory, name), os.O_RDONLY), encoding="utf-8") as f:
            value = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.warning("ignoring unreadable %s: %s", name, error)
        return None
    except RecursionError:
        log.warning("ignoring unreadable %s: nested too deeply to read", name)
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
        fd = open_file(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)
        try:
            os.replace(tmp, path)
        except IsADirectoryError:  # a folder where the file goes: out of the way, once
            if not set_aside(path, "a folder"):
                raise
            os.replace(tmp, path)
        return True
    except OSError as error:
        log.warning("cannot write %s: %s", name, error.strerror or error)
        return False


# Errors of os.open saying something other than a file is there (EISDIR a folder, ENXIO a
# socket or a FIFO no one reads, ELOOP a symbolic link loop): it is moved aside.
_NOT_A_FILE = {errno.EISDIR, errno.ENXIO, errno.ELOOP}
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # (POSIX: a FIFO's open returns at once)


def open_file(path: str, flags: int) -> int:
    """os.open of one of the folder's files (created 0600), made sure to be a regular
    file: anything else in its place (a folder, a socket, a FIFO, a symbolic link loop,
    a device) is moved aside, and a mode other than 0600 is put right, each logged
    naming the file. Never blocks (a FIFO would hold the thread for ever); raises
    OSError when no file can be had (a read-only or full disk, a missing file without
    O_CREAT)."""
    name = os.path.basename(path)
    for attempt in range(3):
        try:
            fd = os.open(path, flags | _NONBLOCK | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError as error:
            denied = error.errno in (errno.EACCES, errno.EPERM)
            if attempt == 2 or not (denied or error.errno in _NOT_A_FILE) or not os.path.lexists(path):
                raise
            if denied and _own_mode(path, error):
                continue
            if not set_aside(path, _kind(path)):
                raise
            continue
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            if attempt == 2 or not set_aside(path, _kind(path)):
                raise OSError(errno.EINVAL, f"{name} is {_kind(path)}, not a file")
            continue
        if _NONBLOCK:
            os.set_blocking(fd, True)
        if stat.S_IMODE(mode) != 0o600 and hasattr(os, "fchmod"):
            try:
                os.fchmod(fd, 0o600)
                log.warning("%s had mode %03o; now 0600", name, stat.S_IMODE(mode))
            except OSError:
                pass  # a read-only disk: reading is all it allows anyway
        return fd
    raise AssertionError("unreachable")


def _own_mode(path: str, error: OSError) -> bool:
    """A file refused us (mode 000, say): it is ours (the folder is 0700), so is its mode."""
    try:
        os.chmod(path, 0o600)
    except OSError:
        return False
    log.warning("%s could not be opened (%s); its mode is now 0600", os.path.basename(path), error.strerror)
    return True


def set_aside(path: str, what: str, quiet: bool = False) -> Optional[str]:
    """Move `path` to `<path>.corrupt-<time>` (never read again), logging it unless
    `quiet`; returns that new name, or None when it cannot be moved."""
    aside = f"{path}.corrupt-{int(time.time())}"
    for n in range(1, 100):
        if not os.path.lexists(aside):
            break
        aside = f"{path}.corrupt-{int(time.time())}-{n}"
    try:
        os.replace(path, aside)
    except OSError as error:
        log.warning("%s is %s and cannot be moved aside (%s)", os.path.basename(path), what, error.strerror or error)
        return None
    if not quiet:
        log.warning("%s is %s, not a file the library can use; moved to %s",
                    os.path.basename(path), what, os.path.basename(aside))
    return os.path.basename(aside)


def _kind(path: str) -> str:
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return "gone"
    for test, kind in ((stat.S_ISDIR, "a folder"), (stat.S_ISSOCK, "a socket"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISLNK, "a symbolic link that leads to no file"), (stat.S_ISREG, "unreadable")):
        if test(mode):
            return kind
    return "a device"


_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def describe_error(error: BaseException) -> str:
    """A storage error in a few words, saying so plainly when the disk is full."""
    if isinstance(error, OSError) and error.errno in _FULL or "database or disk is full" in str(error):
        return f"the disk is full: {getattr(error, 'strerror', None) or error}"
    if isinstance(error, OSError) and error.errno == errno.EFBIG:
        return f"the file size limit is reached: {error.strerror}"
    return str(getattr(error, "strerror", None) or error)
