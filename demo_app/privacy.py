"""The demo's privacy pieces that are not UI: the settings' destination filter and consent
mapping (what Segment's CDN would serve a workspace that set them), and the consent
platform the ConsentManager asks (the user's choices, kept in the app's data folder).

The demo has no Segment workspace, so it passes these settings itself, in both modes:
to the local stand-in's session and, with a Statsig key, to yours (so the Privacy
screen's switches and its filter work against a real project too).
"""
from __future__ import annotations

import json
import logging
import os

log = logging.getLogger("demo_app")

STATSIG = "Statsig"                    # the destination's key, as Segment's settings name it
DEBUG_EVENT = "Internal Debug"         # what the destination filter drops
CATEGORIES = ["analytics", "marketing"]  # consentSettings.allCategories
STATSIG_CATEGORIES = ["analytics"]     # integrations.Statsig.consentSettings.categories
CONSENT_FILE = "consent.json"          # the user's choices, in the app's data folder

# A destination filter as Segment's settings carry it (middlewareSettings.routingRules):
# matcher `event = "Internal Debug"` (FQL's intermediate representation, as a JSON string),
# transformer drop, for the destination named Statsig only.
DEBUG_RULE = {
    "scope": "destinations",
    "target_type": "workspace::project::destination::config",
    "destinationName": STATSIG,
    "matchers": [{"type": "fql", "ir": json.dumps(["=", "event", {"value": DEBUG_EVENT}])}],
    "transformers": [[{"type": "drop"}]],
}
RULE_TEXT = (f'A destination filter in the settings (middlewareSettings.routingRules) drops events '
             f'named "{DEBUG_EVENT}" before {STATSIG}.')


def demo_settings(api_key):
    """Segment's settings for the demo: the Statsig key, one routing rule, one consent mapping."""
    return {
        "integrations": {STATSIG: {"apiKey": api_key,
                                   "consentSettings": {"categories": list(STATSIG_CATEGORIES)}}},
        # every destination of this "workspace" is mapped: with nothing consented, nothing
        # would go to Segment's cloud either (the demo has no cloud leg)
        "consentSettings": {"allCategories": list(CATEGORIES), "hasUnmappedDestinations": False},
        "middlewareSettings": {"routingRules": [DEBUG_RULE]},
    }


class ConsentChoices:
    """The consent platform: the user's choice per category, stored as JSON in the app's
    data folder. A category never chosen counts as given (as after an "Accept all" on
    first launch). The ConsentManager calls get_categories() at start() and at
    notify_consent_changed(), and set_category_list() with the settings' categories."""

    def __init__(self, data_dir):
        self.path = os.path.join(data_dir, CONSENT_FILE)
        self.categories = list(CATEGORIES)
        self._choices = self._load()

    def _load(self):
        try:
            with open(self.path, encoding="utf-8") as f:
                stored = json.load(f)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            log.warning("consent choices unreadable (%s); every category counts as given", error)
            return {}
        return {k: v for k, v in stored.items() if isinstance(v, bool)} if isinstance(stored, dict) else {}

    # --- what the ConsentManager asks ------------------------------------------------
    def get_categories(self):
        return {category: self._choices.get(category, True) for category in self.categories}

    def set_category_list(self, categories):
        self.categories = [c for c in categories if isinstance(c, str)] or list(CATEGORIES)

    # --- what the Privacy screen does --------------------------------------------------
    def given(self, category):
        return self.get_categories().get(category, False)

    def choose(self, category, given):
        self._choices[category] = bool(given)
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        partial = self.path + ".tmp"
        with open(partial, "w", encoding="utf-8") as f:
            json.dump(self._choices, f)
        os.replace(partial, self.path)  # a kill mid-write leaves the old choices, not half a file
