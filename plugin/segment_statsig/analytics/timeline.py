"""The event pipeline, after analytics-kotlin's Timeline.kt:
before -> enrichment -> destinations (each its own copy) -> after."""
from __future__ import annotations

import logging

from .plugin_types import PluginType

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional

    from .._typing import Event
    from .plugin import DestinationPlugin, Plugin

log = logging.getLogger("segment_statsig")


def copy_event(value: Any) -> Any:
    """A deep copy of JSON data (dicts, lists, scalars): far cheaper than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: copy_event(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_event(v) for v in value]
    return value


class Timeline:
    def __init__(self) -> None:
        self.plugins: Dict[PluginType, List[Plugin]] = {t: [] for t in PluginType}
        # failed(destination, event, error): a destination raised on its copy of an event
        self.failed: Optional[Callable[[DestinationPlugin, Event, Exception], None]] = None

    # Copy on write: the worker may be iterating a list while the app adds a plugin.
    def add(self, plugin: Plugin) -> None:
        self.plugins[plugin.type] = [*self.plugins[plugin.type], plugin]

    def remove(self, plugin: Plugin) -> None:
        for plugin_type, plugins in self.plugins.items():
            if plugin in plugins:
                self.plugins[plugin_type] = [p for p in plugins if p is not plugin]

    def all(self) -> List[Plugin]:
        return [p for plugins in self.plugins.values() for p in plugins]

    def apply(self, plugin_type: PluginType, event: Optional[Event]) -> Optional[Event]:
        """Run one stage; a plugin returning None drops the event. A plugin that
        raises is logged and skipped, so one bad plugin never stops the pipeline."""
        plugins = self.plugins[plugin_type]
        return run_stage(plugins, event) if plugins else event

    def process(self, event: Optional[Event], closure: Optional[Callable[[Event], Optional[Event]]] = None) -> Optional[Event]:
        """`closure`: that call's own enrichment, run after the enrichment stage (as
        analytics-kotlin's enrichment closures)."""
        # The stage lists are read once per event and empty ones skipped: this runs for
        # every event on the timeline worker, where each call is a share of throughput.
        plugins = self.plugins
        before, enrichment = plugins[_BEFORE], plugins[_ENRICHMENT]
        if before:
            event = run_stage(before, event)
        if enrichment and event is not None:
            event = run_stage(enrichment, event)
        if closure is not None and event is not None:
            event = run_closure(closure, event)
        if event is None:
            return None
        # (the destination stage holds DestinationPlugins: Analytics.add files each plugin by its type)
        destinations: List[DestinationPlugin] = plugins[_DESTINATION]  # type: ignore[assignment]
        after = plugins[_AFTER]
        last = len(destinations) - 1
        for i, destination in enumerate(destinations):
            try:
                # Each destination gets its own copy; the last may have the original
                # when no after-plugin will look at it.
                destination.process(event if i == last and not after else copy_event(event))
            except Exception as error:
                if self.failed is not None:
                    self.failed(destination, event, error)
                else:
                    log.exception("destination %s failed on a %s event", getattr(destination, "key", "?"), event.get("type"))
        return run_stage(after, event) if after else event


_BEFORE, _ENRICHMENT, _DESTINATION, _AFTER = (
    PluginType.BEFORE, PluginType.ENRICHMENT, PluginType.DESTINATION, PluginType.AFTER)


def run_stage(plugins: List[Plugin], event: Optional[Event]) -> Optional[Event]:
    for plugin in plugins:
        if event is None:
            return None
        try:
            event = plugin.execute(event)
        except Exception:
            # (event is not None here: the assignment above did not happen)
            log.exception("plugin %s failed on a %s event; skipped", type(plugin).__name__, event.get("type"))  # type: ignore[union-attr]
    return event


def run_closure(closure: Callable[[Event], Optional[Event]], event: Event) -> Optional[Event]:
    """An enrichment function: its result (None drops the event); one that raises or
    returns something else than an event is logged and the event goes on unchanged."""
    try:
        result = closure(copy_event(event))
    except Exception:
        log.exception("enrichment %s failed on a %s event; skipped", getattr(closure, "__name__", closure), event.get("type"))
        return event
    if result is None or isinstance(result, dict):
        return result
    log.error("enrichment %s returned %s, not an event or None; skipped", getattr(closure, "__name__", closure),
              type(result).__name__)
    return event
