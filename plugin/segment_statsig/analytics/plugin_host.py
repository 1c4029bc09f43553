"""The Analytics's plugins: added, removed and found, and given the settings (INITIAL the
first time, REFRESH after, a device-mode destination its routing rules); a destination
that fails on an event has the event set aside in the quarantine. A base class of
Analytics, kept apart so that the client stays the calls and their journal."""
from __future__ import annotations

import logging

from ..storage import quarantine
from .plugin import DestinationPlugin, PluginType, UpdateType
from .settings import routing_rules_for

TYPE_CHECKING = False  # mypy reads the block below; at run time typing stays unloaded
if TYPE_CHECKING:
    import threading
    from typing import List, Optional, Set, Type, TypeVar

    from .._typing import Event, Settings
    from .plugin import Plugin
    from .timeline import Timeline
    from .worker import TimelineWorker

    P = TypeVar("P", bound=Plugin)

log = logging.getLogger("segment_statsig")


class PluginHost:
    if TYPE_CHECKING:
        timeline: Timeline
        worker: TimelineWorker
        storage_dir: Optional[str]
        settings: Optional[Settings]
        _plugins_lock: threading.RLock
        _initialized: Set[int]
        _removed: List[Plugin]

    def add(self, plugin: P) -> P:
        with self._plugins_lock:
            plugin.setup(self)  # type: ignore[arg-type]  # (self is the Analytics: this is its base class)
            self.timeline.add(plugin)
            self._removed = [p for p in self._removed if p is not plugin]
            if self.settings is not None:
                self._update(plugin, self.settings)
        self.worker.plugins_changed()
        return plugin

    def remove(self, plugin: Plugin) -> None:
        with self._plugins_lock:
            self.timeline.remove(plugin)
            self._initialized.discard(id(plugin))
            # It may still deliver what it queued (nothing accepted is dropped); shutdown stops it.
            self._removed = [p for p in self._removed if p is not plugin] + [plugin]
        self.worker.plugins_changed()

    def find(self, plugin_class: Type[P]) -> Optional[P]:
        for plugin in self._all_plugins():
            if isinstance(plugin, plugin_class):
                return plugin
        return None

    def destinations(self) -> List[DestinationPlugin]:
        # (the destination stage holds DestinationPlugins: add() files each plugin by its type)
        return list(self.timeline.plugins[PluginType.DESTINATION])  # type: ignore[arg-type]

    def _all_plugins(self) -> List[Plugin]:
        plugins = self.timeline.all()
        for destination in self.destinations():
            plugins.extend(destination.timeline.all())
        return plugins

    def _apply_settings(self, settings: Settings) -> None:
        with self._plugins_lock:
            self.settings = settings
            for plugin in self._all_plugins():
                self._update(plugin, settings)

    def _destination_failed(self, destination: DestinationPlugin, event: Event, error: Exception) -> None:
        """A destination raised on its copy of an event: set the event aside, count it, say so."""
        kept = quarantine.set_aside(self.storage_dir, getattr(destination, "key", type(destination).__name__), error, event)
        stats = getattr(destination, "stats", None)
        if stats is not None:
            stats.add(quarantined=1)
        log.error("destination %s failed on %s (%s: %s); %s", getattr(destination, "key", "?"),
                  quarantine.describe(event), type(error).__name__, error,
                  "set aside in the quarantine file" if kept else "skipped", exc_info=error)

    def _update(self, plugin: Plugin, settings: Settings) -> None:
        kind = UpdateType.REFRESH if id(plugin) in self._initialized else UpdateType.INITIAL
        self._initialized.add(id(plugin))
        if isinstance(plugin, DestinationPlugin) and plugin.device_mode:
            plugin.routing_rules = routing_rules_for(settings, plugin.key)  # a refresh replaces them
        try:
            plugin.update(settings, kind)
        except Exception:
            log.exception("plugin %s failed to apply settings", type(plugin).__name__)
