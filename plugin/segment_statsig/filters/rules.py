"""Routing rules: a destination's filters from the CDN settings, applied to its copy of an
event, as analytics.js applies tsub's rules to a device-mode destination.

Settings carry `middlewareSettings.routingRules`, a list of rules `{"scope",
"target_type", "destinationName", "matchers": [m0, m1, …], "transformers": [[…], […], …]}`.
The rules for a destination are those naming it and those naming none (tsub's
Store.getRulesByDestinationName). Each rule's matchers are tried in order; when matcher
i holds, step i (`transformers[i]`) runs on the event as it is by then. A drop ends it all.
"""
from __future__ import annotations

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

    from .sampling import Random

from .fql import matches
from .jsjson import to_js, to_py
from .jsobjects import get, js_items
from .jsvalues import UNDEFINED, to_number, truthy
from .sampling import standard_random
from .transformers import run


def rules_for(rules: List[Dict[str, Any]], destination_name: str) -> List[Dict[str, Any]]:
    """tsub's Store(rules).getRulesByDestinationName(destination_name)."""
    chosen = []
    for rule in js_items(rules if truthy(rules) else []):
        name = get(rule, "destinationName")
        if name is UNDEFINED or (isinstance(name, str) and name == destination_name):
            chosen.append(rule)
    return chosen


def routing_rules(settings: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The rules in Segment's CDN settings (`middlewareSettings.routingRules`); [] if none."""
    middleware = settings.get("middlewareSettings") if isinstance(settings, dict) else None
    rules = middleware.get("routingRules") if isinstance(middleware, dict) else None
    return rules if isinstance(rules, list) else []


def apply_rules(event: Dict[str, Any], rules: List[Dict[str, Any]], destination_name: str, *,
                random: Optional[Random] = None) -> Optional[Dict[str, Any]]:
    """The destination's rules on the event: the event (a new one if any step ran), or None.

    The caller's event is never changed. Raises FilterError where tsub throws.
    """
    draw = random or standard_random
    payload: Any = event
    copied = False
    for rule in rules_for(rules, destination_name):
        matchers, steps = get(rule, "matchers"), get(rule, "transformers")
        count = to_number(get(matchers, "length"))
        i = 0
        while i < count:
            if matches(payload, get(matchers, str(i))):
                if not copied:
                    payload, copied = to_js(payload), True
                payload = run(payload, get(steps, str(i)), draw)
                if payload is None:
                    return None
            i += 1
    return to_py(payload) if copied else event
