"""The event pipeline, after analytics-kotlin's Timeline.kt:
before -> enrichment -> destinations (each its own copy) -> after."""
from __future__ import annotations

import logging

from .plugin import PluginType

log = logging.getLogger("segment_statsig")


def copy_event(value):
    """A deep copy of JSON data (dicts, lists, scalars): far cheaper than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: copy_event(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_event(v) for v in value]
    return value


class Timeline:
    def __init__(self):
        self.plugins = {t: [] for t in PluginType}
        self.analytics = None

    # Copy on write: the worker may be iterating a list while the app adds a plugin.
    def add(self, plugin):
        self.plugins[plugin.type] = [*self.plugins[plugin.type], plugin]

    def remove(self, plugin):
        for plugin_type, plugins in self.plugins.items():
            if plugin in plugins:
                self.plugins[plugin_type] = [p for p in plugins if p is not plugin]

    def all(self):
        return [p for plugins in self.plugins.values() for p in plugins]

    def apply(self, plugin_type, event):
        """Run one stage; a plugin returning None drops the event. A plugin that
        raises is logged and skipped, so one bad plugin never stops the pipeline."""
        plugins = self.plugins[plugin_type]
        if not plugins:
            return event
        for plugin in plugins:
            if event is None:
                return None
            try:
                event = plugin.execute(event)
            except Exception:
                log.exception("plugin %s failed on a %s event; skipped", type(plugin).__name__, event.get("type"))
        return event

    def process(self, event):
        event = self.apply(PluginType.BEFORE, event)
        event = self.apply(PluginType.ENRICHMENT, event)
        if event is None:
            return None
        destinations = self.plugins[PluginType.DESTINATION]
        last = len(destinations) - 1
        shared_ok = not self.plugins[PluginType.AFTER]
        for i, destination in enumerate(destinations):
            try:
                # Each destination gets its own copy; the last may have the original
                # when no after-plugin will look at it.
                destination.process(event if i == last and shared_ok else copy_event(event))
            except Exception:
                log.exception("destination %s failed on a %s event", getattr(destination, "key", "?"), event.get("type"))
        return self.apply(PluginType.AFTER, event)
