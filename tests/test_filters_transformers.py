"""Destination filters, as a specification: what each transformer step and a destination's
routing rules do to an event, with literal answers (tests/filters_examples.py: tsub's own,
checked by tests/test_filters_tsub.py), and what they never do (change the caller's event,
leave JavaScript-only values, load with segment_statsig).
"""
from __future__ import annotations

import copy
import json
from typing import Any, Dict, List

import pytest

from segment_statsig.filters import FilterError, apply_rules, routing_rules, rules_for, transform

from .filters_examples import ORDER, RULE_CASES, RULES, TRANSFORMS, order, outcome, t


def draws_of(values: List[float]) -> Any:
    it = iter(values)
    return lambda: next(it)


def transformer_cases(kind: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("step, expected, draws", TRANSFORMS[kind],
                                   ids=[json.dumps(step, ensure_ascii=False)[:80] for step, _, _ in TRANSFORMS[kind]])


@transformer_cases("drop")
def test_drop(step: Any, expected: Any, draws: List[float]) -> None:
    assert outcome(lambda: transform(ORDER, step)) == expected


@transformer_cases("drop_properties")
def test_drop_properties(step: Any, expected: Any, draws: List[float]) -> None:
    assert outcome(lambda: transform(ORDER, step)) == expected


@transformer_cases("allow_properties")
def test_allow_properties(step: Any, expected: Any, draws: List[float]) -> None:
    assert outcome(lambda: transform(ORDER, step)) == expected


@transformer_cases("sample_event")
def test_sample_event(step: Any, expected: Any, draws: List[float]) -> None:
    assert outcome(lambda: transform(ORDER, step, random=draws_of(draws))) == expected


@transformer_cases("map_properties")
def test_map_properties(step: Any, expected: Any, draws: List[float]) -> None:
    assert outcome(lambda: transform(ORDER, step)) == expected


@transformer_cases("hash_properties")
def test_hash_properties_is_ignored(step: Any, expected: Any, draws: List[float]) -> None:
    assert outcome(lambda: transform(ORDER, step)) == expected


@transformer_cases("other")
def test_a_step_runs_its_transformers_in_order(step: Any, expected: Any, draws: List[float]) -> None:
    assert outcome(lambda: transform(ORDER, step)) == expected


@pytest.mark.parametrize("event, destination, expected", RULE_CASES)
def test_a_destinations_rules_run_on_its_copy(event: Dict[str, Any], destination: str, expected: Any) -> None:
    assert apply_rules(event, RULES, destination) == expected


def test_rules_for_a_destination_are_its_own_and_those_naming_none() -> None:
    assert rules_for(RULES, "Statsig") == RULES[:2]
    assert rules_for(RULES, "Mixpanel") == [RULES[1]]
    assert rules_for([], "Statsig") == []


def test_the_rules_come_from_the_cdn_settings_middleware() -> None:
    settings = {"integrations": {"Statsig": {"apiKey": "client-x"}}, "middlewareSettings": {"routingRules": RULES}}
    assert routing_rules(settings) == RULES
    assert routing_rules({"integrations": {}}) == []
    assert routing_rules({"middlewareSettings": {"routingRules": "nonsense"}}) == []


def test_where_tsub_throws_a_value_error_is_raised() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        transform(ORDER, [{"type": "rename"}])
    assert issubclass(FilterError, ValueError)


def test_the_callers_event_is_never_changed() -> None:
    before = copy.deepcopy(ORDER)
    steps = [t("drop_properties", drop={"properties": ["email"]}), t("map_properties", map={"properties.x": {"set": 1}})]
    assert transform(ORDER, steps) is not ORDER
    assert apply_rules(ORDER, RULES, "Statsig") is not ORDER
    assert transform(ORDER, [t("drop_properties", drop={"properties": ["email"]}), {"type": "drop"}]) is None
    assert ORDER == before


def test_a_set_value_is_copied_so_the_rule_stays_as_it_was() -> None:
    steps = [t("map_properties", map={"properties.o": {"set": {"a": 1, "b": 2}}}),
             t("drop_properties", drop={"properties.o": ["a"]})]
    assert transform(ORDER, steps) == order({**ORDER["properties"], "o": {"b": 2}})
    assert steps[0]["config"]["map"]["properties.o"]["set"] == {"a": 1, "b": 2}


def test_no_event_leaves_with_javascript_only_values() -> None:
    step = [t("map_properties", map={"properties.tags.4": {"set": "e"}, "properties.tags.x": {"set": 1}})]
    result = transform(ORDER, step)
    assert result is not None and result["properties"]["tags"] == ["a", "b", None, None, "e"]
    assert type(result["properties"]["tags"]) is list


def test_importing_segment_statsig_does_not_import_the_filters() -> None:
    import subprocess
    import sys

    code = "import sys, segment_statsig; print('segment_statsig.filters' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
