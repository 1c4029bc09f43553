"""Small JSON files in the storage folder: written whole (temp file + rename), mode 0600."""
from __future__ import annotations

import json
import logging
import os

log = logging.getLogger("segment_statsig")


def make_dir(path):
    """Create the storage folder (0700); None when it cannot be used."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        probe = os.path.join(path, ".probe")
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        os.unlink(probe)
        return path
    except OSError as error:
        log.warning("storage folder %r unusable (%s); keeping state in memory", path, error.strerror or error)
        return None


def read_json(directory, name):
    if directory is None:
        return None
    try:
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.warning("ignoring unreadable %s: %s", name, error)
        return None


def write_json(directory, name, text):
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
