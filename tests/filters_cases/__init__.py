"""Seeded, deterministic destination-filter cases for the differential test against tsub.

generate(seed, counts) -> JSON lines, one case each (see tests/node/tsub_oracle.js for
their shape). Events look like Segment's and carry the odd values tsub's edge cases turn
on: null, booleans, numbers as strings, -0, 1e21, 2**53 + 1, Infinity, empty strings,
unicode (astral characters, lone surrogates, final sigma), nested lists, keys that are
array indexes. Matchers, transformers and rules are built from paths the event really
holds (so conditions are true as often as false) and from paths it does not; a few are
malformed on purpose, so that errors are compared too.

Paths never name JavaScript built-ins (`constructor`, `toString`, `__proto__`, …): what
tsub finds there depends on the JavaScript engine, and the Python engine treats them as
missing (docs/FILTERS.md).

Here, whole cases; what they are built of: events.py (values, events, paths),
matchers.py (FQL) and transformers.py (steps).
"""
from __future__ import annotations

import json
from collections import Counter
from typing import Any, Dict, List

from .events import INFINITY_TEXT, MISSING
from .matchers import Matchers
from .transformers import Transformers


class Generator(Matchers, Transformers):
    """Whole cases: an event with a matcher, a list of steps, or a set of routing rules."""

    def rules(self, event: Dict[str, Any]) -> Any:
        r = self.r
        if r.random() < 0.03:
            return r.choice([None, [], {}, "ab", [None]])
        rules = []
        for _ in range(r.randint(0, 3)):
            rule: Dict[str, Any] = {"scope": "destinations", "target_type": "workspace::project::destination::config"}
            name = r.choice(["Statsig", "Statsig", "Statsig", "Other", MISSING, None, ""])
            if name is not MISSING:
                rule["destinationName"] = name
            count = r.randint(1, 3)
            rule["matchers"] = [{"type": "all"} if r.random() < 0.35 else self.matcher(event) for _ in range(count)]
            steps = [self.transformers(event) for _ in range(count)]
            rule["transformers"] = steps[:-1] if r.random() < 0.03 else steps
            rules.append(rule)
        return rules

    # --- cases ----------------------------------------------------------------------
    def draws(self) -> List[float]:
        return [self.r.choice([self.r.random(), 0.5, 0.25, 0.0, 0.999]) for _ in range(6)]

    def case(self, kind: str) -> Dict[str, Any]:
        event = self.event()
        if kind == "match":
            return {"kind": kind, "event": event, "matcher": self.matcher(event)}
        if kind == "transform":
            return {"kind": kind, "event": event, "transformers": self.transformers(event), "random": self.draws()}
        return {"kind": kind, "event": event, "rules": self.rules(event), "destination": "Statsig",
                "random": self.draws()}

def generate(seed: int, counts: Dict[str, int]) -> List[str]:
    """The cases as JSON lines (the text both engines read), counts[kind] of each kind."""
    generator = Generator(seed)
    lines = []
    for kind, count in counts.items():
        for _ in range(count):
            text = json.dumps(generator.case(kind), ensure_ascii=True)
            lines.append(text.replace(*INFINITY_TEXT))
    return lines


def coverage(cases: List[Dict[str, Any]]) -> Counter[str]:
    """What the cases exercise: each FQL operator, transformer, map action, sample mode."""
    seen: Counter[str] = Counter()

    def walk_ir(node: Any) -> None:
        if isinstance(node, list) and node:
            if isinstance(node[0], str):
                seen["fql " + node[0]] += 1
            for item in node[1:]:
                walk_ir(item)

    def matcher(m: Any) -> None:
        if isinstance(m, dict) and m.get("type") == "fql" and isinstance(m.get("ir"), str):
            try:
                walk_ir(json.loads(m["ir"]))
            except ValueError:
                pass

    def steps(transformers: Any) -> None:
        for t in transformers if isinstance(transformers, list) else []:
            if isinstance(t, dict) and isinstance(t.get("type"), str):
                seen["transformer " + t["type"]] += 1
                config = t.get("config")
                if t["type"] == "map_properties" and isinstance(config, dict) and isinstance(config.get("map"), dict):
                    for action in config["map"].values():
                        for verb in ("copy", "move", "set", "to_string"):
                            if isinstance(action, dict) and verb in action:
                                seen["map " + verb] += 1
                if t["type"] == "sample_event" and isinstance(config, dict) and isinstance(config.get("sample"), dict):
                    seen["sample " + ("path" if config["sample"].get("path") else "random")] += 1

    for case in cases:
        seen["case " + case["kind"]] += 1
        if case["kind"] == "match":
            matcher(case["matcher"])
        elif case["kind"] == "transform":
            steps(case["transformers"])
        elif isinstance(case["rules"], list):
            for rule in case["rules"]:
                if isinstance(rule, dict):
                    for m in rule.get("matchers", []):
                        matcher(m)
                    for step in rule.get("transformers", []):
                        steps(step)
    return seen
