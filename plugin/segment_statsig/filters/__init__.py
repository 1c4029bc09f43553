"""Segment's destination filters, exactly as @segment/tsub 2.0.1 runs them, as pure functions.

    matches(event, matcher) -> bool                    # {"type": "all" | "fql", "ir": "..."}
    transform(event, transformers, *, random=None) -> dict | None  # one step; None: dropped
    apply_rules(event, rules, destination_name, *, random=None) -> dict | None
    rules_for(rules, destination_name) -> rules        # tsub's getRulesByDestinationName
    routing_rules(settings) -> rules                   # settings["middlewareSettings"]["routingRules"]

Each raises FilterError (a ValueError) where tsub throws. None of them changes the
event it is given. docs/FILTERS.md says what is supported and how it is proven.
"""
from __future__ import annotations

from .fql import matches
from .jsvalues import FilterError
from .rules import apply_rules, routing_rules, rules_for
from .transformers import transform

__all__ = ["FilterError", "apply_rules", "matches", "routing_rules", "rules_for", "transform"]
