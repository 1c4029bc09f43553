"""ConsentManager: asks the app's consent provider for the user's preferences and stamps
every event with them (`context.consent.categoryPreferences`), holds every event until
the app calls start() (they wait in the journal, so a kill loses none), and gives each
destination its blocker (consent/blockers.py).

Unlike analytics-kotlin-consent, which asks the provider as each event is processed, the
provider is asked on the app's thread, at start() and at notify_consent_changed(), and
the new choice travels in the journal with the preference event: the worker processes
events a moment after their call, and an event made before the user changed their mind
must carry the choice of its moment, not the one after.

    consent = analytics.add(ConsentManager(lambda: {"analytics": True, "marketing": False}))
    ...                                  # events are held (durably) until:
    consent.start()                      # the consent platform is ready
    consent.notify_consent_changed()     # after the user changes their choice
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Protocol, Set, Union

from ..analytics.plugin import DestinationPlugin, Plugin, PluginType, UpdateType
from .blockers import PREFERENCE_EVENT, ConsentBlocker, SegmentConsentBlocker, is_preference_event
from .state import ConsentState

if TYPE_CHECKING:
    from ..analytics.client import Analytics

log = logging.getLogger("segment_statsig")


class CategoryProvider(Protocol):
    """A consent platform's adapter. It may also have ``set_category_list(all_categories)``,
    called with every category the workspace knows when the settings come."""

    def get_categories(self) -> Dict[str, bool]: ...


Provider = Union[Callable[[], Dict[str, bool]], CategoryProvider]  # a callable, or an object with get_categories()


class ConsentManager(Plugin):
    type = PluginType.ENRICHMENT  # as analytics-kotlin-consent: after the before-plugins, before destinations
    prompt = False

    def __init__(self, provider: Provider) -> None:
        self._read: Callable[[], object]  # its answer is checked (categories())
        if callable(getattr(provider, "get_categories", None)):
            self._read = provider.get_categories  # type: ignore[union-attr]  # (it has one: just checked)
        elif callable(provider):
            self._read = provider
        else:
            raise TypeError("provider must be a callable returning {category: bool} or an object "
                            "with get_categories()")
        self.provider = provider
        self.state = ConsentState()
        self.started = False
        self._current: Dict[str, bool] = {}  # the choice in force, in call order (the worker's)
        self._given: Set[int] = set()  # ids of the destinations that have their blocker

    def setup(self, analytics: Analytics) -> None:
        super().setup(analytics)
        analytics.hold(self)  # nothing is processed (it all waits in the journal) until start()

    def update(self, settings: Dict[str, Any], update_type: UpdateType) -> None:
        self.state = ConsentState.from_settings(settings)
        set_list = getattr(self.provider, "set_category_list", None)
        if callable(set_list):  # the provider learns which categories the workspace has
            try:
                set_list(list(self.state.all_categories))
            except Exception:
                log.exception("consent provider: set_category_list failed")

    def start(self) -> None:
        """The consent platform is ready: process what was held (stamped with the choice
        of now), and all that follows."""
        self._current = self.categories()
        self.started = True
        if self.analytics is not None:
            self.analytics.release(self)

    def notify_consent_changed(self) -> None:
        """The user changed their choice: tracks "Segment Consent Preference Updated", which
        every destination receives, stamped with the new preferences."""
        if self.analytics is None:
            raise RuntimeError("add the ConsentManager to an Analytics first")
        choice = self.categories()
        if not self.analytics.enabled:
            # Opted out: no event is written, so the choice cannot travel with one; it holds
            # from now on, for the events after the user opts back in.
            self._current = choice
            return
        self.analytics.track(PREFERENCE_EVENT, context={"consent": {"categoryPreferences": choice}})

    def preferences(self) -> Dict[str, bool]:
        """The choice in force at this point of the timeline (the stamp an event made now
        gets): for a destination's own events, which no plugin stamps."""
        return dict(self._current)

    def categories(self) -> Dict[str, bool]:
        """The provider's answer, checked: {category: bool}; {} (nothing consented) when it
        raises or answers something else."""
        try:
            answer = self._read()
        except Exception:
            log.exception("consent provider failed; stamping no consent")
            return {}
        if not isinstance(answer, dict):
            log.warning("consent provider returned a %s, not {category: bool}; stamping no consent",
                        type(answer).__name__)
            return {}
        return {str(k): v for k, v in answer.items() if isinstance(v, bool)}

    def execute(self, event: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        self._give_blockers()
        context = event.get("context")
        context = dict(context) if isinstance(context, dict) else {}
        if is_preference_event(event):
            carried = (context.get("consent") or {}).get("categoryPreferences")
            if isinstance(carried, dict):  # the choice made at notify_consent_changed(), from now on
                self._current = {str(k): v for k, v in carried.items() if isinstance(v, bool)}
        context["consent"] = {"categoryPreferences": dict(self._current)}
        event["context"] = context
        return event

    def _give_blockers(self) -> None:
        """Every destination gets its blocker once, also one added after this manager."""
        # (analytics is set: events come only once this manager was added)
        for destination in self.analytics.destinations():  # type: ignore[union-attr]
            if id(destination) in self._given or not isinstance(destination, DestinationPlugin):
                continue
            self._given.add(id(destination))
            blocker = SegmentConsentBlocker if not destination.device_mode else ConsentBlocker
            destination.add(blocker(destination, lambda: self.state))
