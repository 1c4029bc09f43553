"""Consent in device mode, as segment-integrations/analytics-kotlin-consent does it: a
ConsentManager stamps every event with the user's category preferences and, with the
categories Segment's settings map each destination to, keeps events from a destination
whose categories the user has not consented to."""
from __future__ import annotations

from .blockers import PREFERENCE_EVENT, ConsentBlocker, SegmentConsentBlocker
from .manager import ConsentManager
from .state import ConsentState

__all__ = ["ConsentManager", "ConsentBlocker", "SegmentConsentBlocker", "ConsentState", "PREFERENCE_EVENT"]
