"""The plugin contract, after analytics-kotlin's Plugin.kt."""
from __future__ import annotations

from .plugin_types import PluginType, UpdateType
from .timeline import Timeline

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, TypeVar

    from .._typing import Event, Settings
    from .client import Analytics

    P = TypeVar("P", bound="Plugin")

__all__ = ["Plugin", "EventPlugin", "DestinationPlugin", "PluginType", "UpdateType"]


class Plugin:
    type: PluginType = PluginType.UTILITY
    analytics: Optional[Analytics] = None  # set by setup()
    # True: this plugin sees each event soon after its call (the timeline then processes
    # every call as it comes). False: batches suit it (flush_at calls, or flush_interval),
    # which spares a phone a wake-up per call. The library's own plugins say False.
    prompt: bool = True

    def setup(self, analytics: Analytics) -> None:
        self.analytics = analytics

    def update(self, settings: Settings, update_type: UpdateType) -> None:
        """Called with the Segment settings dict: INITIAL once, then REFRESH."""

    def execute(self, event: Event) -> Optional[Event]:
        """Return the event (changed or not) or None to drop it."""
        return event

    def shutdown(self, timeout: float) -> bool:
        """Stop background work; True when nothing is left undone."""
        return True


class EventPlugin(Plugin):
    """A plugin with one method per event type, each returning the event or None."""

    def execute(self, event: Event) -> Optional[Event]:
        # The event's type picks the method from this fixed list, never by name from the data.
        kind = event["type"]
        if kind == "track":
            return self.track(event)
        if kind == "screen":
            return self.screen(event)
        if kind == "page":
            return self.page(event)
        if kind == "identify":
            return self.identify(event)
        if kind == "group":
            return self.group(event)
        if kind == "alias":
            return self.alias(event)
        return event

    def track(self, event: Event) -> Optional[Event]:
        return event

    def identify(self, event: Event) -> Optional[Event]:
        return event

    def screen(self, event: Event) -> Optional[Event]:
        return event

    def page(self, event: Event) -> Optional[Event]:
        return event

    def group(self, event: Event) -> Optional[Event]:
        return event

    def alias(self, event: Event) -> Optional[Event]:
        return event

    def flush(self) -> None:
        """Send what is queued now."""

    def reset(self) -> None:
        """Forget the user."""

    def purge(self) -> int:
        """Erase what this plugin holds undelivered (Analytics.purge); returns how many events."""
        return 0


class DestinationPlugin(EventPlugin):
    """Sends events somewhere, with its own small timeline of before/enrichment/after plugins."""

    type = PluginType.DESTINATION
    key: str = ""
    enabled: bool = True
    # Device mode: this destination's filters (the settings' routing rules naming it) run
    # here, on the device. False for the cloud leg: Segment's servers filter what it sends.
    device_mode: bool = True

    def __init__(self) -> None:
        self.timeline = Timeline()
        self.routing_rules: List[Dict[str, Any]] = []  # set from the settings (Analytics), applied before the typed method

    def setup(self, analytics: Analytics) -> None:
        super().setup(analytics)
        for plugin in self.timeline.all():  # those added before this destination was added
            plugin.setup(analytics)

    def add(self, plugin: P) -> P:
        if plugin.type in (PluginType.DESTINATION, PluginType.UTILITY):
            raise TypeError("a destination's own timeline takes before, enrichment or after plugins")
        if self.analytics is not None:  # else setup() sets it up, once this destination is added
            plugin.setup(self.analytics)
        self.timeline.add(plugin)
        return plugin

    def remove(self, plugin: Plugin) -> None:
        self.timeline.remove(plugin)

    def accepts(self, event: Event) -> bool:
        """False when the event's integrations turn this destination off."""
        integrations = event.get("integrations") or {}
        own = integrations.get(self.key)
        if own is not None:
            return own is not False
        return integrations.get("All", True) is not False

    def process(self, event: Event) -> Optional[Event]:
        """before -> enrichment (consent blockers sit here) -> the destination's filters ->
        the typed method -> after, on this destination's copy alone."""
        if not self.enabled or not self.accepts(event):
            return None
        timeline = self.timeline
        kept = timeline.apply(PluginType.BEFORE, event)
        kept = timeline.apply(PluginType.ENRICHMENT, kept)
        if kept is None:
            return None
        if self.routing_rules:
            from ..filters import apply_rules  # only apps whose settings hold filters load them

            # A rule that fails raises (FilterError): the timeline sets the event aside for
            # this destination rather than send what the rule meant to change or drop.
            filtered = apply_rules(kept, self.routing_rules, self.key)
            if filtered is None:
                self.skipped(kept, "filtered")
                return None
            kept = filtered
        return timeline.apply(PluginType.AFTER, EventPlugin.execute(self, kept))

    def own_event(self, payload: Dict[str, Any], event: Event) -> None:
        """A payload this destination made itself on the caller's thread and journaled
        (Analytics.journal_own), back in call order on the timeline worker; `event` has
        its messageId, timestamp, userId and anonymousId. Not a Segment event: no plugin
        sees it."""

    def skipped(self, event: Event, why: str) -> None:
        """`event` will not reach this destination: `why` is "filtered" (a destination
        filter dropped it) or "blocked" (consent). A destination with stats counts it."""

    def commit(self) -> None:
        """Make every event accepted so far durable. The timeline worker calls this
        before it marks those events done in the journal."""

    def committed(self) -> None:
        """The journal knows those events are stored: a good moment to wake the sender
        (not before, so a crash in between cannot replay what was already sent)."""
