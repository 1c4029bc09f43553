"""The plugin contract, after analytics-kotlin's Plugin.kt."""
from __future__ import annotations

import enum


class PluginType(str, enum.Enum):
    BEFORE = "before"            # runs first: can change or drop any event
    ENRICHMENT = "enrichment"    # adds data (context, ids)
    DESTINATION = "destination"  # sends events somewhere; each gets its own copy
    AFTER = "after"              # sees what destinations were given
    UTILITY = "utility"          # not in the event path (lifecycle, helpers)


class UpdateType(str, enum.Enum):
    INITIAL = "initial"  # first settings this plugin sees
    REFRESH = "refresh"  # settings changed later


class Plugin:
    type = PluginType.UTILITY
    analytics = None

    def setup(self, analytics):
        self.analytics = analytics

    def update(self, settings, update_type):
        """Called with the Segment settings dict: INITIAL once, then REFRESH."""

    def execute(self, event):
        """Return the event (changed or not) or None to drop it."""
        return event

    def shutdown(self, timeout):
        """Stop background work; True when nothing is left undone."""
        return True


class EventPlugin(Plugin):
    """A plugin with one method per event type, each returning the event or None."""

    def execute(self, event):
        handler = getattr(self, event["type"], None)
        return handler(event) if handler is not None else event

    def track(self, event):
        return event

    def identify(self, event):
        return event

    def screen(self, event):
        return event

    def page(self, event):
        return event

    def group(self, event):
        return event

    def alias(self, event):
        return event

    def flush(self):
        """Send what is queued now."""

    def reset(self):
        """Forget the user."""


class DestinationPlugin(EventPlugin):
    """Sends events somewhere, with its own small timeline of before/enrichment/after plugins."""

    type = PluginType.DESTINATION
    key = ""
    enabled = True

    def __init__(self):
        from .timeline import Timeline

        self.timeline = Timeline()

    def setup(self, analytics):
        super().setup(analytics)
        self.timeline.analytics = analytics

    def add(self, plugin):
        if plugin.type in (PluginType.DESTINATION, PluginType.UTILITY):
            raise TypeError("a destination's own timeline takes before, enrichment or after plugins")
        plugin.setup(self.analytics)
        self.timeline.add(plugin)
        return plugin

    def remove(self, plugin):
        self.timeline.remove(plugin)

    def accepts(self, event):
        """False when the event's integrations turn this destination off."""
        integrations = event.get("integrations") or {}
        own = integrations.get(self.key)
        if own is not None:
            return own is not False
        return integrations.get("All", True) is not False

    def process(self, event):
        """before -> enrichment -> the typed method -> after, on this destination alone."""
        if not self.enabled or not self.accepts(event):
            return None
        timeline = self.timeline
        event = timeline.apply(PluginType.BEFORE, event)
        event = timeline.apply(PluginType.ENRICHMENT, event)
        if event is None:
            return None
        return timeline.apply(PluginType.AFTER, EventPlugin.execute(self, event))

    def commit(self):
        """Make every event accepted so far durable. The timeline worker calls this
        before it marks those events done in the journal."""

    def committed(self):
        """The journal knows those events are stored: a good moment to wake the sender
        (not before, so a crash in between cannot replay what was already sent)."""
