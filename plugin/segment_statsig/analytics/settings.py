"""Segment settings: from the app (`settings=`), from Segment's CDN, or from the
copy cached on disk when the CDN cannot be reached. Fetched off the caller's thread."""
from __future__ import annotations

import json
import logging
import threading
import time

from ..storage.files import SETTINGS, read_json, write_json

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional

    from .._typing import Settings

log = logging.getLogger("segment_statsig")

SETTINGS_REPLY_BYTES = 4 * 1024 * 1024  # a source's settings, filters included, are far below this


def _valid(settings: Any) -> bool:
    return isinstance(settings, dict) and isinstance(settings.get("integrations", {}), dict)


class SettingsLoader:
    def __init__(self, write_key: str, cdn_url: str, directory: Optional[str], timeout: float = 10.0) -> None:
        self.write_key = write_key
        self.url = f"{cdn_url.rstrip('/')}/v1/projects/{write_key}/settings"
        self.directory = directory
        self.timeout = timeout
        self.thread: Optional[threading.Thread] = None
        self.fetched_at = time.monotonic()  # the last fetch started (the constructor's, at launch)

    def cached(self) -> Optional[Settings]:
        settings = read_json(self.directory, SETTINGS)
        return settings if _valid(settings) else None

    def fetch_async(self, on_settings: Callable[[Settings], None], on_done: Callable[[], None]) -> None:
        """Fetch on a thread; on_settings(settings) on success, then on_done()."""
        def run() -> None:
            try:
                settings = self.fetch()
                if settings is not None:
                    on_settings(settings)
            except Exception:  # the thread never dies with an error; the settings in use stand
                log.exception("settings: could not apply the CDN's settings; using cached settings")
            finally:
                on_done()

        self.fetched_at = time.monotonic()
        self.thread = threading.Thread(target=run, name="segment-statsig-settings", daemon=True)
        self.thread.start()

    def refresh_if_older(self, max_age: float, on_settings: Callable[[Settings], None]) -> bool:
        """Fetch again when the last fetch started over `max_age` seconds ago and none is
        under way (analytics-swift's checkSettingsIfNeeded, at a return to the foreground):
        a filter or consent mapping changed in Segment reaches a long-lived app. True if started."""
        if time.monotonic() - self.fetched_at < max_age or (self.thread is not None and self.thread.is_alive()):
            return False
        self.fetch_async(on_settings, lambda: None)
        return True

    def fetch(self) -> Optional[Settings]:
        from ..delivery.http import HttpSender

        sender = HttpSender(self.url, self.timeout, use_gzip=False, reply_limit=None,
                            max_reply_bytes=SETTINGS_REPLY_BYTES)
        try:
            result = sender.get({"Accept": "application/json"}, secret=self.write_key)
        finally:
            sender.close()
        if result.status is None:  # offline: the cache (already applied) stands
            log.warning("settings: cannot reach Segment's CDN (%s); using cached settings", result.reply.split(":")[0])
            return None
        if result.status != 200:
            log.warning("settings: CDN answered HTTP %s; using cached settings", result.status)
            return None
        settings: Optional[Settings]
        try:
            settings = json.loads(result.reply)  # checked below (_valid)
        except (ValueError, RecursionError):  # not JSON, or nested too deeply to read
            settings = None
        if not _valid(settings):
            log.warning("settings: CDN reply is not a settings object; using cached settings")
            return None
        write_json(self.directory, SETTINGS, result.reply)  # the text just read: no second encoding to fail
        return settings


def routing_rules_for(settings: object, key: str) -> List[Dict[str, Any]]:
    """The destination filters of destination `key` in Segment's settings (filters/)."""
    if not isinstance(settings, dict) or not settings.get("middlewareSettings"):
        return []  # no filters: the filter engine is not even imported
    from ..filters import routing_rules, rules_for

    try:
        return rules_for(routing_rules(settings), key)
    except Exception as error:  # rules of a shape tsub would choke on: say so, filter nothing
        log.error("settings: the destination filters for %s cannot be read (%s); none applied", key, error)
        return []
