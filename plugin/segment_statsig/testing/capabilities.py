"""The capabilities a conformance case may require, each with the SDK behaviour that makes
it one: a real implementation built on an official SDK cannot do it, so a case needing it is
skipped (and said so) for an adapter that does not declare it, never failed.

A capability is never a way to excuse a mapping difference: an implementation that can send
the right thing and sends another fails the case.
"""
from __future__ import annotations

from typing import Any, Dict, FrozenSet, Iterable, List, Set

__all__ = ["CAPABILITIES", "ALL", "missing", "unknown", "shown_by"]

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
    "overrides": "local overrides: a tester forces a gate, config, experiment, layer or parameter store "
                 "on the device (reason LocalOverride:Recognized); Statsig's JS client has them only through "
                 "an override adapter (@statsig/js-local-overrides), and an implementation with no values "
                 "store of its own (Statsig's HTTP API, a cloud-mode destination) has none",
    "bootstrap": "values the app's own server made (a client initialize response) used at once, with no "
                 "initialize request (reason Bootstrap:Recognized); a client SDK takes them "
                 "(JS dataAdapter.setData, Android initializeValues), Statsig's on-device evaluation "
                 "client takes config specs instead, an implementation with no values store has none",
    "param-stores": "parameter stores (getParameterStore(name).get(param, default)) resolved on the "
                    "device; a newer Statsig feature than its legacy client SDKs (statsig-js has none)",
    "on-device-eval": "gates and experiments evaluated on the device from config specs, for any user, with "
                      "no initialize request; Statsig's standard client SDKs (@statsig/js-client, "
                      "Android, iOS) only read what Statsig's servers evaluated (initialize), only its "
                      "on-device evaluation clients (@statsig/js-on-device-eval-client) evaluate specs",
}
ALL: FrozenSet[str] = frozenset(CAPABILITIES)


def unknown(requires: Iterable[Any]) -> List[str]:
    """The names in a case's ``requires`` that are no capability (a typo would skip a case forever)."""
    return [str(name) for name in requires if name not in CAPABILITIES]


def missing(requires: Iterable[str], declared: Iterable[str]) -> List[str]:
    """What a case requires that the adapter did not declare, in the case's order."""
    have = set(declared)
    return [name for name in requires if name not in have]


#: calls that need a capability, by the first words of their method
_CALLS_NEED = [("check_gate", "gates"), ("get_", "gates"), ("log_", "gates"), ("wait_for_values", "gates"),
               ("override_", "overrides"), ("remove_", "overrides"), ("bootstrap", "bootstrap"),
               ("get_parameter_store", "param-stores"), ("set_config_specs", "on-device-eval"),
               ("purge", "purge"), ("consent_", "consent")]


def shown_by(case: Dict[str, Any]) -> List[str]:
    """The capabilities a case's own content shows it needs (its calls, options and settings),
    sorted: its ``requires`` must hold at least these. (Some it cannot show: a case about
    batching needs flush-policy by what its expected batches hold.)"""
    need: Set[str] = set()
    for call in case.get("calls") or []:
        method = str(call.get("method", ""))
        need.update(capability for start, capability in _CALLS_NEED if method.startswith(start))
        if "timestamp" in (call.get("args") or {}):
            need.add("event-timestamp")
    options = case.get("options") or {}
    if "consent" in options:
        need.add("consent")
    if "flush_policies" in (options.get("analytics") or {}):
        need.add("flush-policy")
    if (options.get("destination") or {}).get("on_device_evaluation"):
        need.add("on-device-eval")
    settings = case.get("settings") or (case.get("cdn") or {}).get("settings") or {}
    if isinstance(settings, dict) and (settings.get("middlewareSettings") or {}).get("routingRules"):
        need.add("filters")
    return sorted(need)
