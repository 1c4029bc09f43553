"""Every example of the destination-filter specification (tests/filters_examples.py) asked of
@segment/tsub 2.0.1 itself, in one node process; and without node or tsub, the tests say what to run.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

import pytest

from segment_statsig.filters.jsjson import stringify

from .filters_examples import EVENT, FQL, MATCHERS, ORDER, RAISES, RULE_CASES, RULES, TRANSFORMS
from .filters_oracle import run_tsub


def test_every_example_here_is_what_tsub_answers() -> None:
    """The literals of tests/filters_examples.py, asked of tsub itself (one node process)."""
    cases: List[Tuple[Dict[str, Any], Any]] = []
    for examples in FQL.values():
        for ir, expected in examples:
            cases.append(({"kind": "match", "event": EVENT, "matcher": {"type": "fql", "ir": json.dumps(ir)}}, expected))
    for matcher, expected in MATCHERS:
        cases.append(({"kind": "match", "event": EVENT, "matcher": matcher}, expected))
    for transform_examples in TRANSFORMS.values():
        for step, expected, draws in transform_examples:
            cases.append(({"kind": "transform", "event": ORDER, "transformers": step, "random": draws}, expected))
    for event, destination, expected in RULE_CASES:
        cases.append(({"kind": "rules", "event": event, "rules": RULES, "destination": destination}, expected))
    answers = run_tsub([json.dumps(case) for case, _ in cases])
    wrong = []
    for (case, expected), answer in zip(cases, answers):
        theirs = RAISES if "error" in answer else answer["ok"]
        ours = expected if expected is RAISES or isinstance(expected, bool) else _json(expected)
        if theirs != ours:
            wrong.append(f"{json.dumps(case, ensure_ascii=False)[:300]}\n    here: {ours}\n    tsub: {theirs}")
    assert not wrong, f"{len(wrong)} examples are not what tsub answers:\n" + "\n".join(wrong)


def _json(value: Optional[Dict[str, Any]]) -> Optional[str]:
    return None if value is None else stringify(value)


def test_without_node_or_tsub_the_tests_fail_saying_what_to_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from . import filters_oracle

    monkeypatch.setattr(filters_oracle, "TSUB", filters_oracle.NODE_DIR / "node_modules" / "nowhere" / "package.json")
    with pytest.raises(pytest.fail.Exception, match=r"run \./dev test"):
        filters_oracle.run_tsub(["{}"])
