"""The proof that segment_statsig.filters is tsub: >= 10,000 generated cases, run by
@segment/tsub 2.0.1 itself (one node process, tests/node/tsub_oracle.js) and by our engine,
with 0 differences allowed, errors included (an error in tsub must be one here).

Needs node and the pinned tsub in tests/node/node_modules: `./dev test` installs both.
Another seed: SEGMENT_STATSIG_FILTERS_SEED=7 ./dev test tests/test_filters_differential.py
"""
from __future__ import annotations

import json
import os
import time
from collections import Counter
from typing import Any, Dict

import pytest

from .filters_cases import coverage, generate
from .filters_oracle import run_ours, run_tsub, same

SEED = int(os.environ.get("SEGMENT_STATSIG_FILTERS_SEED", "20240915"))
COUNTS = {"match": 6000, "transform": 5000, "rules": 1500}
FQL_OPERATORS = ["=", "!=", "<", "<=", ">", ">=", "and", "or", "!", "in", "contains", "match",
                 "lowercase", "typeof", "length", "semver"]
TRANSFORMERS = ["drop", "drop_properties", "allow_properties", "sample_event", "map_properties",
                "hash_properties"]


def outcome(answer: Dict[str, Any]) -> str:
    if "error" in answer:
        return "error"
    if isinstance(answer["ok"], bool):
        return str(answer["ok"]).lower()
    return "dropped" if answer["ok"] is None else "kept"


def short(value: Any, limit: int = 600) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} chars)"


def test_python_engine_answers_every_generated_case_as_tsub_does(capsys: pytest.CaptureFixture[str]) -> None:
    started = time.perf_counter()
    lines = generate(SEED, COUNTS)
    theirs = run_tsub(lines)
    node_done = time.perf_counter()
    cases = [json.loads(line) for line in lines]
    differences = []
    outcomes: Counter[str] = Counter()
    for i, (case, answer) in enumerate(zip(cases, theirs)):
        ours = run_ours(case)
        outcomes[f"{case['kind']} {outcome(answer)}"] += 1
        if not same(answer, ours):
            differences.append((i, case, answer, ours))
        elif case["kind"] != "match" and case["event"] != json.loads(lines[i])["event"]:
            differences.append((i, case, answer, {"crash": "the caller's event was changed"}))
    elapsed = time.perf_counter() - started
    seen = coverage(cases)

    with capsys.disabled():
        print(f"\n[filters differential] {len(cases)} cases ({', '.join(f'{n} {k}' for k, n in COUNTS.items())}), "
              f"seed {SEED}: {len(differences)} differences from @segment/tsub 2.0.1; "
              f"{elapsed:.1f} s (tsub {node_done - started:.1f} s)")
        print("  outcomes: " + ", ".join(f"{k} {n}" for k, n in sorted(outcomes.items())))
        print("  FQL: " + ", ".join(f"{op} {seen['fql ' + op]}" for op in FQL_OPERATORS))
        print("  transformers: " + ", ".join(f"{t} {seen['transformer ' + t]}" for t in TRANSFORMERS)
              + "; map " + ", ".join(f"{v} {seen['map ' + v]}" for v in ("copy", "move", "set", "to_string"))
              + f"; sample with a path {seen['sample path']}, random {seen['sample random']}")

    report = [f"{len(differences)} of {len(cases)} cases differ from tsub; the first ones:"]
    for i, case, answer, ours in differences[:5]:
        report.append(f"case {i} ({case['kind']}): {short(lines[i])}\n    tsub: {short(answer)}\n    ours: {short(ours)}")
    assert not differences, "\n".join(report)

    # The cases must reach every operator and transformer, and every kind of answer.
    for op in FQL_OPERATORS:
        assert seen["fql " + op] >= 100, f"only {seen['fql ' + op]} cases use FQL {op}"
    for name in TRANSFORMERS:
        assert seen["transformer " + name] >= 100, f"only {seen['transformer ' + name]} cases use {name}"
    for verb in ("copy", "move", "set", "to_string"):
        assert seen["map " + verb] >= 300
    assert seen["sample path"] >= 300 and seen["sample random"] >= 300
    for kind in ("match true", "match false", "match error", "transform kept", "transform dropped",
                 "transform error", "rules kept", "rules dropped", "rules error"):
        assert outcomes[kind] >= 50, f"only {outcomes[kind]} cases end '{kind}'"
