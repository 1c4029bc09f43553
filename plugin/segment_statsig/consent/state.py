"""What Segment's settings say about consent: which categories each destination needs
(`integrations.<key>.consentSettings.categories`), every category the workspace knows
(`consentSettings.allCategories`) and whether any destination is left unmapped
(`consentSettings.hasUnmappedDestinations`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List


@dataclass(frozen=True)
class ConsentState:
    destination_categories: Dict[str, List[str]] = field(default_factory=dict)
    all_categories: List[str] = field(default_factory=list)
    has_unmapped_destinations: bool = True

    @classmethod
    def from_settings(cls, settings: Any) -> "ConsentState":
        """Read leniently: a block of the wrong shape counts as absent."""
        settings = settings if isinstance(settings, dict) else {}
        mapping: Dict[str, List[str]] = {}
        integrations = settings.get("integrations")
        for key, block in (integrations.items() if isinstance(integrations, dict) else ()):
            consent = block.get("consentSettings") if isinstance(block, dict) else None
            if isinstance(consent, dict):
                categories = consent.get("categories")
                mapping[key] = [c.strip() for c in categories if isinstance(c, str)] if isinstance(categories, list) else []
        top = settings.get("consentSettings") if isinstance(settings.get("consentSettings"), dict) else {}
        unmapped = top.get("hasUnmappedDestinations")
        every = top.get("allCategories")
        return cls(mapping, [c for c in every if isinstance(c, str)] if isinstance(every, list) else [],
                   unmapped if isinstance(unmapped, bool) else True)


def consented(event: Dict[str, Any]) -> FrozenSet[str]:
    """The categories the event's stamp says are consented to (value exactly true)."""
    context = event.get("context")
    consent = context.get("consent") if isinstance(context, dict) else None
    preferences = consent.get("categoryPreferences") if isinstance(consent, dict) else None
    if not isinstance(preferences, dict):
        return frozenset()
    return frozenset(category for category, given in preferences.items() if given is True)
