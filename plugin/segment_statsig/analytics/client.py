"""Analytics: the public client. Each call stamps its event and writes it to the
journal on the caller's thread (durable on return); the timeline runs on one
worker thread, in call order; each destination delivers on its own worker."""
from __future__ import annotations

import json
import logging
import os
import threading
import time

from . import arguments, jsonsafe
from .context import ContextPlugin
from .conveniences import Conveniences
from .plugin_host import PluginHost
from .radio_calls import RadioCalls
from .enrichment import checked as checked_enrichment
from .events import OWN, RECORD_LINE, RESET, message_bits, message_id, parse_timestamp
from .identity import CHANGES, Identity
from ..storage.closed_journal import ClosedJournal
from ..storage.journal import Journal
from ..storage.lock import FolderLock
from .settings import SettingsLoader
from ..delivery.urls import check_url
from ..storage.files import PRIVACY, default_storage_dir, make_dir, read_json, write_json
from .timeline import Timeline
from .worker import TimelineWorker

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Set, Union

    from .._typing import Event, Settings, StrPath, Timestamp
    from .errors import AnalyticsError
    from .flush_policies import FlushPolicy

    Enrichment = Optional[Callable[[Event], Optional[Event]]]
    from .plugin import Plugin

log = logging.getLogger("segment_statsig")

DEFAULT_CDN_URL = "https://cdn-settings.segment.com"
DEFAULT_API_URL = "https://api.segment.io"


class Analytics(PluginHost, Conveniences, RadioCalls):
    journal: Union[Journal, ClosedJournal]  # ClosedJournal after shutdown()

    def __init__(self, write_key: Optional[str] = None, *, storage_dir: Optional[StrPath] = None,
                 flush_at: Optional[int] = None, flush_interval: Optional[float] = None,
                 cdn_url: str = DEFAULT_CDN_URL,
                 api_url: str = DEFAULT_API_URL, settings: Optional[Settings] = None,
                 track_lifecycle_events: Union[bool, Iterable[str]] = False, app_info: Optional[Mapping[str, Any]] = None,
                 context: Optional[Mapping[str, Any]] = None, settings_timeout: float = 10.0,
                 flush_policies: Optional[Iterable[FlushPolicy]] = None,
                 anonymous_id_generator: Optional[Callable[[], str]] = None,
                 error_handler: Optional[Callable[[AnalyticsError], None]] = None,
                 settings_max_age: float = 3600.0) -> None:
        if write_key is not None and (not isinstance(write_key, str) or not write_key.strip()):
            raise ValueError("write_key must be a non-empty str or None")
        if flush_at is not None and (isinstance(flush_at, bool) or not isinstance(flush_at, int) or flush_at < 1):
            raise ValueError("flush_at must be an int >= 1")
        if flush_interval is not None and (not isinstance(flush_interval, (int, float)) or not flush_interval > 0):
            raise ValueError("flush_interval must be a number of seconds > 0")
        if settings is not None and not isinstance(settings, dict):
            raise TypeError("settings must be a dict like {'integrations': {'Statsig': {'apiKey': ...}}}")
        self.write_key = write_key
        self._app_options(flush_at, None if flush_interval is None else float(flush_interval), flush_policies, track_lifecycle_events,
                          settings_max_age, anonymous_id_generator, error_handler)
        # Settings carry the Statsig key and the cloud leg carries events: same rule as Statsig's URLs.
        self.cdn_url = check_url(cdn_url, "cdn_url")
        self.api_url = check_url(api_url, "api_url (Segment)")
        self.app_info = dict(app_info or {})
        self.settings_timeout = settings_timeout
        if storage_dir is None:
            storage_dir = default_storage_dir(write_key)
        self.storage_dir = make_dir(os.fspath(storage_dir))
        # One Analytics per folder (storage/lock.py): refused here, before any call is accepted.
        self._lock = FolderLock(self.storage_dir) if self.storage_dir is not None else None
        self.journal = None  # type: ignore[assignment]  # _set_up opens it; None only while that fails
        try:
            self._set_up(write_key, settings, context, cdn_url, api_url, settings_timeout, self.track_lifecycle_events)
        except BaseException:  # a bad argument found late: the folder is free for the next try
            if self.journal is not None:
                self.journal.close()
            if self._lock is not None:
                self._lock.release()
            raise

    def _set_up(self, write_key: Optional[str], settings: Optional[Settings], context: Optional[Mapping[str, Any]],
                cdn_url: str, api_url: str, settings_timeout: float, track_lifecycle_events: bool) -> None:
        self._call_lock = threading.Lock()   # orders records and identity changes; never held by I/O threads
        self._listen_for_errors()
        self.journal = Journal(self.storage_dir)
        # The identity changes an earlier run journaled are replayed over the saved user.
        self.identity = Identity(self.storage_dir, self.journal.unprocessed(CHANGES), self.anonymous_id_generator)
        self.timeline = Timeline()
        self.timeline.failed = self._destination_failed
        self._plugins_lock = threading.RLock()
        self._initialized: Set[int] = set()  # ids of plugins that had their INITIAL update
        self.settings: Optional[Settings] = None
        self._settings_ready = threading.Event()
        self._shutdown_result: Optional[bool] = None
        self._shutdown_lock = threading.Lock()  # a second caller waits for the first's outcome
        self._removed: List[Plugin] = []  # removed plugins with work of their own, stopped at shutdown
        self.worker = TimelineWorker(self)
        self._set_up_radio()
        self._holding = False   # while True, calls are journaled but the worker is not started
        self._holds: Set[object] = set()  # plugins holding processing (a ConsentManager before start())
        self._enabled = (read_json(self.storage_dir, PRIVACY) or {}).get("enabled") is not False

        self.context = self.add(ContextPlugin(self.app_info))
        if context is not None:
            self.context.set(**arguments.mapping(context, "context"))
        self.settings_loader: Optional[SettingsLoader] = None
        if write_key is not None:
            loader = self.settings_loader = SettingsLoader(write_key, cdn_url, self.storage_dir, timeout=settings_timeout)
            start = settings if settings is not None else loader.cached()
            if start is not None:
                self._apply_settings(start)
                self._settings_ready.set()
            loader.fetch_async(self._apply_settings, self._settings_ready.set)
            from ..segment.destination import SegmentDestination

            self.add(SegmentDestination(write_key, api_url=api_url))
        else:
            self._apply_settings(settings if settings is not None else {"integrations": {}})
            self._settings_ready.set()
        if track_lifecycle_events:
            # Journaled now, processed from the app's first call on: by then the app
            # has added its destinations, so none misses Installed / Opened.
            self._holding = True
            self.on_start()
            self._holding = False
        if self.journal.pending:  # an earlier run's lines: delivered even if the app makes no call
            self.worker.start_later()
        self.flush_policies.schedule(self)

    def __repr__(self) -> str:
        return f"<Analytics storage_dir={self.storage_dir!r} write_key={'set' if self.write_key else None}>"

    # --- identity -------------------------------------------------------------
    @property
    def anonymous_id(self) -> str:
        return self.identity.anonymous_id

    @property
    def user_id(self) -> Optional[str]:
        return self.identity.user_id

    @property
    def traits(self) -> Dict[str, Any]:
        return self.identity.copy_traits()

    # --- context --------------------------------------------------------------
    def set_context(self, **parts: Any) -> None:
        """Context for later events from the app or its UI toolkit, e.g. screen={...}."""
        self.context.set(**parts)

    # --- the calls ------------------------------------------------------------
    def track(self, event: str, properties: Optional[Mapping[str, Any]] = None, *,
              context: Optional[Mapping[str, Any]] = None, integrations: Optional[Mapping[str, Any]] = None,
              timestamp: Optional[Timestamp] = None, enrichment: Enrichment = None) -> None:
        fields: Dict[str, Any] = {"event": arguments.name(event, "event"),
                                  "properties": arguments.mapping(properties, "properties")}
        self._record("track", fields, context, integrations, timestamp, enrichment=enrichment)

    def screen(self, title: str, category: Optional[str] = None, properties: Optional[Mapping[str, Any]] = None, *,
               context: Optional[Mapping[str, Any]] = None, integrations: Optional[Mapping[str, Any]] = None,
               timestamp: Optional[Timestamp] = None, enrichment: Enrichment = None) -> None:
        fields: Dict[str, Any] = {"name": arguments.name(title, "title"),
                                  "properties": arguments.mapping(properties, "properties")}
        if category is not None:
            fields["category"] = arguments.name(category, "category")
        self._record("screen", fields, context, integrations, timestamp, enrichment=enrichment)

    def page(self, name: Optional[str] = None, category: Optional[str] = None,
             properties: Optional[Mapping[str, Any]] = None, *, context: Optional[Mapping[str, Any]] = None,
             integrations: Optional[Mapping[str, Any]] = None, timestamp: Optional[Timestamp] = None,
             enrichment: Enrichment = None) -> None:
        fields: Dict[str, Any] = {"properties": arguments.mapping(properties, "properties")}
        if name is not None:
            fields["name"] = arguments.name(name, "name")
        if category is not None:
            fields["category"] = arguments.name(category, "category")
        self._record("page", fields, context, integrations, timestamp, enrichment=enrichment)

    def identify(self, user_id: Union[str, int, None] = None, traits: Optional[Mapping[str, Any]] = None, *,
                 context: Optional[Mapping[str, Any]] = None, integrations: Optional[Mapping[str, Any]] = None,
                 timestamp: Optional[Timestamp] = None, enrichment: Enrichment = None) -> None:
        user_id = arguments.user_id(user_id)
        traits = arguments.mapping(traits, "traits")
        # The traits as the journal writes them, encoded once and read back for the
        # identity before the calls' lock is taken.
        traits_json = jsonsafe.dumps(traits, "identify traits")
        safe = json.loads(traits_json) if traits else {}
        self._record("identify", {}, context, integrations, timestamp,
                     change=lambda: self.identity.identify(user_id, safe), fields_json=f'{{"traits":{traits_json}}}',
                     enrichment=enrichment)

    def group(self, group_id: Union[str, int], traits: Optional[Mapping[str, Any]] = None, *,
              context: Optional[Mapping[str, Any]] = None, integrations: Optional[Mapping[str, Any]] = None,
              timestamp: Optional[Timestamp] = None, enrichment: Enrichment = None) -> None:
        fields: Dict[str, Any] = {"groupId": arguments.user_id(group_id, "group_id"), "traits": arguments.mapping(traits, "traits")}
        if fields["groupId"] is None:
            raise ValueError("group_id is required")
        self._record("group", fields, context, integrations, timestamp, enrichment=enrichment)

    def alias(self, new_id: Union[str, int], *, context: Optional[Mapping[str, Any]] = None,
              integrations: Optional[Mapping[str, Any]] = None, timestamp: Optional[Timestamp] = None,
              enrichment: Enrichment = None) -> None:
        checked = arguments.user_id(new_id, "new_id")
        if checked is None:
            raise ValueError("new_id is required")
        previous = self.identity.user_id or self.identity.anonymous_id
        self._record("alias", {"previousId": previous}, context, integrations, timestamp,
                     change=lambda: self.identity.alias(checked), enrichment=enrichment)

    def reset(self) -> None:
        """Forget the user: new anonymousId, no userId, no traits. Destinations hear
        of it in call order, so events made before still carry the old user."""
        self._record(RESET, {}, None, None, None, change=self.identity.reset)

    def journal_own(self, destination_key: str, payload: Dict[str, Any]) -> None:
        """A destination's own event (Statsig's exposure of a gate check), made on the
        caller's thread: journaled like a call, so it keeps its place among the calls
        and survives a kill; the timeline hands it to that destination alone."""
        self._record(OWN, {"destination": destination_key, "payload": payload}, None, None, None)

    # --- privacy --------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        """False: the user opted out. Every call returns at once without writing or
        changing anything (reset() included), until set True again. Kept across restarts."""
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"enabled must be True or False, not {value!r}")
        with self._call_lock:
            self._enabled = value
            write_json(self.storage_dir, PRIVACY, json.dumps({"enabled": value}))

    def purge(self, timeout: float = 5.0) -> bool:
        """Erase every event the device still holds undelivered: the journal, every
        destination's queue (Statsig exposures included) and the quarantine file. What
        was already sent is not the device's to erase. Runs on the timeline worker,
        between two passes; True once done within `timeout` seconds."""
        self.worker.start()
        done: bool = self.worker.purge(timeout)
        return done

    def hold(self, owner: object) -> None:
        """Keep every call in the journal, unprocessed, until release(owner)."""
        self._holds.add(owner)

    def release(self, owner: object) -> None:
        self._holds.discard(owner)
        if self.worker.thread is not None:
            self.worker.wake.set()

    def _record(self, kind: str, fields: Dict[str, Any], context: Optional[Mapping[str, Any]],
                integrations: Optional[Mapping[str, Any]], timestamp: Optional[Timestamp],
                change: Optional[Callable[[], None]] = None, fields_json: Optional[str] = None,
                enrichment: Enrichment = None) -> None:
        """The caller's-thread path: stamp, encode, one journal write, wake the worker.
        `fields_json`: the fields already encoded (identify's traits: not encoded twice)."""
        if enrichment is not None:
            checked_enrichment(enrichment)
        if not self._enabled:  # opted out: nothing is written, nothing changes
            return
        unix_time = time.time() if timestamp is None else parse_timestamp(timestamp)
        if context is not None:
            context = arguments.mapping(context, "context")
        if integrations is not None:
            integrations = arguments.mapping(integrations, "integrations")
        body = jsonsafe.dumps([fields, context, integrations], kind)
        if fields_json is not None:  # '[{},' + the rest -> '[' + fields_json + ',' + the rest
            body = "[" + fields_json + body[3:]
        with self._call_lock:
            if change is not None:
                change()
                if self.user_info.subscribers:  # (a snapshot of the traits only when someone listens)
                    self.user_info.changed(self._user_info())
            identity = self.identity
            bits = message_bits(128)
            line = RECORD_LINE % (kind, unix_time, bits, identity.ids_json, body[1:-1])
            if enrichment is not None:
                self.call_enrichments[message_id("%032x" % bits)] = enrichment
            self.journal.append(line.encode("ascii"))
        worker = self.worker
        if worker.holding and not self._holding:
            worker.start()
        worker.nudge()

    # --- lifecycle (the events: analytics/lifecycle.py) -----------------------
    def on_start(self) -> None:
        """Application Installed / Updated (by the stored version), then Opened. Once
        per process; the constructor calls it when track_lifecycle_events is on. Called
        by the app (a UI toolkit's start hook), it also starts processing."""
        if not self._holding:
            self.worker.start()
        self.lifecycle.start()

    def on_foreground(self) -> None:
        """Back from the background: Application Opened (from_background true); settings
        older than settings_max_age are fetched again."""
        self.lifecycle.foreground()
        self.worker.start()
        for plugin in self.timeline.all():  # a destination may act on it (Statsig: refresh stale values)
            hook = getattr(plugin, "on_foreground", None)
            if callable(hook):
                try:
                    hook()
                except Exception:
                    log.exception("%s.on_foreground() failed", type(plugin).__name__)
        if self.settings_loader is not None:
            self.settings_loader.refresh_if_older(self.settings_max_age, self._apply_settings)

    def on_background(self) -> None:
        """The app may be killed any time now: sync the journal and, as the flush policies
        say (BackgroundFlushPolicy, a default one), flush every destination."""
        self.lifecycle.background()
        self.flush_policies.app_backgrounded()
        self.worker.start()
        self.worker.request_sync()

    # --- flush and shutdown ---------------------------------------------------
    def flush(self, timeout: Optional[float] = None) -> Optional[bool]:
        """Start sending everything now. With `timeout`, wait up to that many seconds
        for every destination to deliver; True when nothing is left."""
        self.worker.start()
        self.worker.request_flush()
        if timeout is None:
            return None
        deadline = time.monotonic() + timeout
        if not self.worker.wait_processed(deadline):
            return False
        for destination in self.destinations():
            wait_idle = getattr(destination, "wait_idle", None)
            if wait_idle is not None and not wait_idle(max(0.0, deadline - time.monotonic())):
                return False
        return True

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Flush, stop the workers, let go of the folder; True if all was delivered. A caller
        that comes meanwhile (or later) gets that outcome once it is done. What is left, and
        calls made during or after it, wait on disk for the next start."""
        with self._shutdown_lock:
            if self._shutdown_result is None:
                self._shutdown_result = self._shut_down(timeout)
            return self._shutdown_result

    def _shut_down(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        # Keep a little of the time for stopping the workers and closing the queues.
        flush_budget = timeout - min(0.5, timeout * 0.2)
        delivered = self.flush(flush_budget) if self.worker.thread is not None or self.journal.pending else True
        self.worker.stop(max(0.0, deadline - time.monotonic()))
        self.flush_policies.unschedule()
        self.radio.close()
        self.user_info.close()
        with self._plugins_lock:
            plugins = self._all_plugins() + self._removed
        for plugin in plugins:
            try:
                plugin.shutdown(max(0.0, deadline - time.monotonic()))
            except Exception:
                log.exception("plugin %s failed to shut down", type(plugin).__name__)
        self.identity.save()  # what the worker did not save yet (a later change: the journal holds it)
        # Under the calls' lock, no call meets the journal half closed (it would keep the
        # line in memory: lost) nor our own folder lock. Later calls go to the journal file
        # for the next start, under the folder's lock for their moment (ClosedJournal).
        with self._call_lock:
            self.journal.close()
            self.journal = ClosedJournal(self.storage_dir)
            if self._lock is not None:
                self._lock.release()
        self._stop_listening_for_errors()
        return bool(delivered)
