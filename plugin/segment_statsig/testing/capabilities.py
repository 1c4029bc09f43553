"""The capabilities a conformance case may require, each with the SDK behaviour that makes
it one: a real implementation built on an official SDK cannot do it, so a case needing it is
skipped (and said so) for an adapter that does not declare it, never failed.

A capability is never a way to excuse a mapping difference: an implementation that can send
the right thing and sends another fails the case.
"""
from __future__ import annotations

from typing import Any, Dict, FrozenSet, Iterable, List

__all__ = ["CAPABILITIES", "ALL", "missing", "unknown"]

#: name -> why an implementation may lack it (what the SDKs it would be built on do)
CAPABILITIES: Dict[str, str] = {
    "event-timestamp": "a Segment call's timestamp becomes the event's time; Statsig's client SDKs "
                       "(JS, Android, iOS) stamp logEvent with the current time and take no other",
    "flush-policy": "the app decides when a batch goes and what it holds (one request per flush, in "
                    "call order); Statsig's client SDKs send on their own timer, when their buffer "
                    "fills and at every user change, and send one flush's batches at once",
    "purge": "purge() erases what the device has not delivered yet; Statsig's client SDKs have no "
             "call that erases their own event queue",
    "gates": "gate, config, experiment and layer values and their exposures; an implementation that "
             "only forwards events (Statsig's HTTP API, a Segment cloud-mode destination) has none",
    "consent": "a consent platform holds events until it starts and blocks them per category; "
               "Segment SDKs without a consent plugin (analytics-python, analytics-ruby) have none",
    "filters": "Segment's destination filters (tsub) run on the device; only the SDKs that embed "
               "tsub (analytics.js, analytics-kotlin, analytics-swift) have them",
}
ALL: FrozenSet[str] = frozenset(CAPABILITIES)


def unknown(requires: Iterable[Any]) -> List[str]:
    """The names in a case's ``requires`` that are no capability (a typo would skip a case forever)."""
    return [str(name) for name in requires if name not in CAPABILITIES]


def missing(requires: Iterable[str], declared: Iterable[str]) -> List[str]:
    """What a case requires that the adapter did not declare, in the case's order."""
    have = set(declared)
    return [name for name in requires if name not in have]
