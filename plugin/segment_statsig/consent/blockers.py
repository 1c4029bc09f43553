"""The plugins that keep an event from a destination the user has not consented to,
one in each destination's own timeline (analytics-kotlin-consent's ConsentBlocker and
SegmentConsentBlocker). They read the event's stamp, not the provider: an event carries
the preferences of the moment it was processed."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Optional

from ..analytics.plugin import Plugin, PluginType
from .state import ConsentState, consented

if TYPE_CHECKING:
    from ..analytics.plugin import DestinationPlugin

PREFERENCE_EVENT = "Segment Consent Preference Updated"


def is_preference_event(event: Dict[str, Any]) -> bool:
    return event.get("type") == "track" and event.get("event") == PREFERENCE_EVENT


class ConsentBlocker(Plugin):
    """A device-mode destination gets an event only when every category it needs is true in
    the event's stamp; the preference event passes. A destination the settings map to no
    category at all gets nothing, the preference event included (as analytics-kotlin-consent:
    a mapping was meant and its categories are missing); one they do not map is not held back."""

    type = PluginType.ENRICHMENT
    prompt = False

    def __init__(self, destination: DestinationPlugin, state: Callable[[], ConsentState]) -> None:
        self.destination = destination
        self.state = state

    def admits(self, consented: "frozenset[str] | set[str]") -> bool:
        """Whether an event stamped with these consented categories (not the preference
        event) may reach this destination."""
        required = self.state().destination_categories.get(self.destination.key)
        return required is None or (bool(required) and set(required) <= set(consented))

    def execute(self, event: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        required = self.state().destination_categories.get(self.destination.key)
        if required is None:
            return event
        if required and (is_preference_event(event) or set(required) <= consented(event)):
            return event
        self.destination.skipped(event, "blocked")
        return None


class SegmentConsentBlocker(ConsentBlocker):
    """The cloud leg: Segment's servers hold each destination to its categories, so events
    go there unless every destination is mapped (hasUnmappedDestinations false) and the
    user consented to no category at all."""

    def execute(self, event: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        if self.state().has_unmapped_destinations or is_preference_event(event) or consented(event):
            return event
        self.destination.skipped(event, "blocked")
        return None
