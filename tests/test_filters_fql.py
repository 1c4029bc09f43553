"""Destination filters, as a specification: what each FQL operator and each matcher answers
on one event, with literal answers (tests/filters_examples.py: tsub's own, checked by
tests/test_filters_tsub.py).
"""
from __future__ import annotations

import json
from typing import Any, Dict

import pytest

from segment_statsig.filters import matches

from .filters_examples import EVENT, FQL, MATCHERS, outcome


def fql(ir: Any, event: Dict[str, Any] = EVENT) -> Any:
    return outcome(lambda: matches(event, {"type": "fql", "ir": json.dumps(ir)}))


def operator_cases(op: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("ir, expected", FQL[op], ids=[json.dumps(ir) for ir, _ in FQL[op]])


@operator_cases("=")
def test_equals_is_javascript_strict_equality(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("!=")
def test_not_equals(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("<")
def test_less_holds_between_two_numbers_only(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("<=")
def test_less_or_equal(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases(">")
def test_greater(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases(">=")
def test_greater_or_equal(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("and")
def test_and_stops_at_the_first_false(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("or")
def test_or_stops_at_the_first_true(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("!")
def test_not_negates_truthiness(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("in")
def test_in_a_list_of_operands(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("contains")
def test_contains_a_substring(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("match")
def test_match_a_glob(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("lowercase")
def test_lowercase(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("typeof")
def test_typeof_names_the_javascript_type(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("length")
def test_length_of_a_list_or_string(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@operator_cases("semver")
def test_semver_compares_versions(ir: Any, expected: Any) -> None:
    assert fql(ir) == expected


@pytest.mark.parametrize("matcher, expected", MATCHERS, ids=[json.dumps(m) for m, _ in MATCHERS])
def test_a_matcher_is_all_or_fql(matcher: Any, expected: Any) -> None:
    assert outcome(lambda: matches(EVENT, matcher)) == expected
