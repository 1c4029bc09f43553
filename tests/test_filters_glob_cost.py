"""FQL's match(): linear in the text's length, answering as tsub does (long texts and odd
patterns, run by tsub itself), and an event whose filter still costs too much is set aside
alone while the others are delivered."""
from __future__ import annotations

import json
import random
import time
from typing import Any, Dict, List

import pytest

from segment_statsig.filters.globmatch import MAX_STEPS, TooMuchWork, glob_matches

from .filters_oracle import run_ours, run_tsub, same

# Patterns of every kind of chunk: classes, negated classes, "?", escapes, several stars.
PATTERNS = ["*[b]", "*[b]x*", "*[^a]", "*?b*", "a*[a-c]?b", "*\\a*b", "*a*[x]*", "?*[b-z]*?", "*ab", "*[b]*[c]"]


def _times(pattern: str, texts: List[str], rounds: int = 5) -> List[float]:
    """The best of `rounds` times of matching each text, the texts taken in turn (so a
    busy moment of a shared machine falls on all of them alike). This thread's CPU time,
    not the wall clock: other processes taking the CPU meanwhile do not count."""
    best = [float("inf")] * len(texts)
    for _ in range(rounds):
        for i, text in enumerate(texts):
            started = time.thread_time()
            glob_matches(pattern, text)
            best[i] = min(best[i], time.thread_time() - started)
    return best


@pytest.mark.parametrize("pattern", PATTERNS)
def test_match_time_grows_linearly_with_the_text(pattern: str) -> None:
    """The same pattern on n and 8n characters, in one run: 8x the time for a linear match,
    64x for a quadratic one; the bound is in between (24x), over a floor of 2 ms for noise."""
    n = 20_000
    short, long = _times(pattern, ["a" * n, "a" * (8 * n)])
    ratio = long / max(short, 0.002)
    assert ratio < 24, f"{pattern!r}: 8x the text took {ratio:.1f}x the time"


@pytest.mark.parametrize("pattern", PATTERNS)
def test_match_steps_are_linear_in_the_text(pattern: str) -> None:
    """By operation count: a budget of 4 steps a character is enough at every length."""
    for n in (1_000, 8_000, 64_000, 512_000):
        text = "a" * n
        assert glob_matches(pattern, text, max_steps=4 * n) == glob_matches(pattern, text)


def test_a_pattern_past_the_step_budget_raises_too_much_work() -> None:
    pattern = "*?" + "a" * 200 + "b*"         # each place tried costs the chunk's 201 characters
    with pytest.raises(TooMuchWork):
        glob_matches(pattern, "a" * 100_000)
    assert glob_matches(pattern, "a" * 300) is False           # small texts stay under the budget
    assert glob_matches(pattern, "a" * 300 + "b") is True
    assert MAX_STEPS >= 1_000_000


def _glob_cases(seed: int, count: int) -> List[str]:
    """Match cases for tsub's oracle: random patterns over a small alphabet, on short texts
    and on texts of thousands of characters."""
    r = random.Random(seed)
    pattern_chars = list("ab/*?[]^-\\") + ["\U0001f600", "\u00e9"]
    text_chars = list("ab/-]^\\*") + ["\U0001f600", "\u00e9"]
    lines = []
    for i in range(count):
        pattern = "".join(r.choice(pattern_chars) for _ in range(r.randint(0, 9)))
        size = r.randint(0, 12) if i % 4 else r.randint(1_000, 20_000)
        text = "".join(r.choice(text_chars) for _ in range(size))
        if i % 3 == 0:
            pattern = r.choice(PATTERNS)
        case: Dict[str, Any] = {"kind": "match", "event": {"type": "track", "properties": {"s": text}},
                                "matcher": {"type": "fql", "ir": json.dumps(["match", "properties.s", {"value": pattern}])}}
        lines.append(json.dumps(case, ensure_ascii=True))
    return lines


def test_match_answers_as_tsub_on_random_patterns_and_long_texts() -> None:
    lines = _glob_cases(20261207, 3000)
    theirs = run_tsub(lines)
    differences = [(json.loads(line), answer, ours) for line, answer in zip(lines, theirs)
                   if not same(answer, ours := run_ours(json.loads(line)))]
    assert {answer.get("ok") for answer in theirs} >= {True, False}   # both answers are compared
    assert not differences, [(c["matcher"]["ir"][:80], a, o) for c, a, o in differences[:5]]


# --- in the pipeline ------------------------------------------------------------------------
def _rule(pattern: str) -> Dict[str, Any]:
    ir = json.dumps(["match", "properties.blob", {"value": pattern}])
    return {"scope": "destinations", "target_type": "workspace::project::destination::config",
            "destinationName": "Statsig", "matchers": [{"type": "fql", "ir": ir}],
            "transformers": [[{"type": "drop"}]]}


def _client(make_client, pattern: str):
    from .conftest import KEY

    settings = {"integrations": {"Statsig": {"apiKey": KEY}}, "middlewareSettings": {"routingRules": [_rule(pattern)]}}
    return make_client(settings=settings)


def test_a_megabyte_property_under_a_glob_filter_holds_no_one(make_client, fake_statsig) -> None:
    analytics, dest = _client(make_client, "*[b]")
    analytics.track("big", {"blob": "a" * 1_000_000})
    for i in range(20):
        analytics.track(f"small {i}", {"blob": "a" * 100})
    assert fake_statsig.wait_for_events(21, timeout=20), f"{len(fake_statsig.events)} of 21 delivered"
    assert dest.stats.snapshot()["quarantined"] == 0


def test_a_filter_past_its_budget_sets_that_event_aside_and_delivers_the_others(
        make_client, fake_statsig, tmp_path, log_records) -> None:
    analytics, dest = _client(make_client, "*?" + "a" * 200 + "b*")
    analytics.track("costly", {"blob": "a" * 100_000})
    for i in range(20):
        analytics.track(f"small {i}", {"blob": "a" * 100})
    assert fake_statsig.wait_for_events(20, timeout=20), f"{len(fake_statsig.events)} of 20 delivered"
    assert analytics.flush(timeout=5)
    names = sorted(e["eventName"] for e in fake_statsig.events)
    assert names == sorted(f"segment_track:small {i}" for i in range(20))
    assert dest.stats.snapshot()["quarantined"] == 1
    [line] = (tmp_path / "store" / "quarantine.jsonl").read_text().splitlines()
    kept = json.loads(line)
    assert kept["record"]["event"] == "costly" and kept["error"].startswith("TooMuchWork")
    assert "destination Statsig failed on track 'costly'" in log_records.text
