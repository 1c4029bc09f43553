"""The matchers of the filter cases: FQL expressions over an event's paths, near misses included."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

from .events import MISSING, NUMBERS, STRINGS, VERSIONS, Events, read_path

SEMVER_OPS = ["=", "!=", ">", ">=", "<", "<=", "~", "=="]
GLOB_ODD = ["*", "", "**", "*?*", "[", "a\\", "[]", "[a-", "[z-a]*", "[\\", "[^]x", "a[b", "?",
            "[!a]*", "*\\*", "\\*", "[a-z]*", "[^a-z]*", "[A-Z]*", "*/*", "*[0-9]*", "[]a]*"]
OPS = ["=", "!=", "<", "<=", ">", ">=", "and", "or", "!", "in", "contains", "match", "lowercase",
       "typeof", "length", "semver", "path", "bad"]
OP_WEIGHTS = [14, 8, 5, 5, 5, 5, 7, 7, 5, 7, 6, 7, 2, 2, 2, 5, 3, 2]


class Matchers(Events):
    """Matchers built from what the event holds: operands, literals close to them, globs, needles."""

    def variant(self, value: Any) -> Any:
        """Something close to value: itself, the same as text, another type, a neighbour."""
        r = self.r
        if value is MISSING or r.random() < 0.15:
            return self.value(1)
        if r.random() < 0.4:
            return value
        if isinstance(value, bool):
            return r.choice([not value, str(value).lower(), int(value), None])
        if isinstance(value, (int, float)):
            return r.choice([str(value), value + 1, value - 1, -value, float(value), int(value) if abs(value) < 1e300 else 0,
                             json.dumps(value)])
        if isinstance(value, str):
            return r.choice([value.upper(), value.lower(), value[:2], value + "x", "", value.strip(),
                             _as_number(value)])
        if value is None:
            return r.choice(["null", 0, False, {}, []])
        if isinstance(value, dict):
            return r.choice([dict(reversed(list(value.items()))), {}, {**value, "z": 1}])
        if isinstance(value, list):
            return r.choice([value[::-1], value[:1], value + [None], []])
        return value

    def literal(self, value: Any) -> Any:
        if self.r.random() < 0.03:
            return {}  # {"value"} left out: undefined
        return {"value": value}

    def glob(self, value: Any) -> str:
        r = self.r
        if not isinstance(value, str) or r.random() < 0.25:
            return r.choice(GLOB_ODD + STRINGS[:12])
        k = r.randint(0, len(value))
        return r.choice([value, value[:k] + "*", "*" + value[k:], "*" + value[1:-1] + "*",
                         value[:k] + "?" + value[k + 1:], value.upper(), "\\" + value,
                         (value[:1] and f"[{value[0]}-{value[0]}]") + "*",
                         (value[:1] and f"[^{value[0]}]") + "*", value + "*x", "*"])

    def function(self, event: Dict[str, Any]) -> Tuple[List[Any], Any]:
        """A function call used as an operand (evaluated there, by tsub's isIR), and a guess
        at its result (for the other side of a comparison)."""
        r = self.r
        path, value = self.pick(event)
        name = r.choice(["lowercase", "length", "typeof", "contains", "match", "semver"])
        if name == "lowercase":
            return [name, path], value.lower() if isinstance(value, str) else None
        if name == "length":
            if r.random() < 0.3:
                path, value = "properties.nul", read_path(event, "properties.nul")  # null has length 0
            guess = len(value) if isinstance(value, (str, list)) else 0 if value is None else r.choice(NUMBERS)
            return [name, path], guess
        if name == "typeof":
            return [name, path], _typeof(value)
        if name == "contains":
            return [name, path, self.literal(self.needle(value))], True
        if name == "match":
            return [name, path, self.literal(self.glob(value))], True
        return [name, path, self.literal(r.choice(SEMVER_OPS)), self.literal(r.choice(VERSIONS))], True

    def needle(self, value: Any) -> Any:
        """Part of a string, sometimes in another case, or something close to it."""
        r = self.r
        if not isinstance(value, str) or r.random() < 0.2:
            return r.choice([self.variant(value), "", self.scalar()])
        k = r.randint(0, len(value))
        part = value[k:k + r.randint(0, 3)]
        return r.choice([part, part, part.upper(), part.lower(), part.swapcase()])

    def operand(self, event: Dict[str, Any]) -> Tuple[Any, Any]:
        path, value = self.pick(event)
        kind = self.r.random()
        if kind < 0.75:
            return path, value
        if kind < 0.9:
            return self.function(event)
        return self.literal(value if value is not MISSING else self.scalar()), value

    def ir(self, event: Dict[str, Any], depth: int) -> Any:
        r = self.r
        op = r.choices(OPS, OP_WEIGHTS)[0]
        if depth <= 0 and op in ("and", "or", "!"):
            op = "="
        if op in ("and", "or"):
            return [op] + [self.ir(event, depth - 1) for _ in range(r.randint(0, 3))]
        if op == "!":
            return ["!", self.ir(event, depth - 1)]
        if op in ("=", "!="):
            left, value = self.operand(event)
            if isinstance(left, list) and r.random() < 0.2:
                right: Any = self.literal(r.choice(["string", "number", "object", "undefined", "boolean",
                                                    True, False, 0, 3, "abc", None]))
            elif r.random() < 0.15:
                right = self.pick(event)[0]
            else:
                right = self.literal(self.variant(value))
            return [op, left, right] if r.random() < 0.8 else [op, right, left]
        if op in ("<", "<=", ">", ">="):
            left, value = self.operand(event)
            if r.random() < 0.3:
                left, value = self.function(event)
            number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else r.choice(NUMBERS)
            right = self.literal(r.choice([number, number, number, number + 1, number - 1, str(number),
                                           r.choice(NUMBERS)]))
            return [op, left, right] if r.random() < 0.8 else [op, right, left]
        if op == "in":
            path, value = self.pick(event)
            items = [self.literal(self.variant(value)) for _ in range(r.randint(0, 3))]
            if r.random() < 0.4:
                items.insert(r.randint(0, len(items)), self.literal(value if value is not MISSING else None))
            kind = r.random()
            if kind < 0.06:
                return ["in", path, self.pick(event)[0]]  # a path: a list there is a list of paths
            if kind < 0.1:
                items.append(r.choice([self.pick(event)[0], None, 5]))  # a bare item is a path
            return ["in", path, items]
        if op == "contains":
            left, value = self.operand(event)
            return ["contains", left, self.literal(self.needle(value))]
        if op == "match":
            left, value = self.operand(event)
            return ["match", left, self.literal(self.glob(value))]
        if op in ("lowercase", "typeof", "length"):
            return [op, self.pick(event)[0]]  # alone: never a boolean, so false
        if op == "semver":
            version = self.pick(event)[0] if r.random() < 0.4 else self.literal(r.choice(VERSIONS))
            call = ["semver", version, self.literal(r.choice(SEMVER_OPS)), self.literal(r.choice(VERSIONS))]
            return call if r.random() < 0.8 else ["=", call, self.literal(r.choice([True, False]))]
        if op == "path":
            return r.choice([self.pick(event)[0], self.literal(r.choice([True, False, 1, "true"]))])
        return r.choice([None, [], [None], ["xor", "a", "b"], [5], ["=", "event"], ["!"],
                         ["in", "event", "event"], ["in", "event"], ["contains", "event"],
                         ["EQ", "a", {"value": 1}], [["="]]])

    def matcher(self, event: Dict[str, Any]) -> Any:
        r = self.r
        kind = r.random()
        if kind < 0.05:
            return {"type": "all"}
        if kind < 0.08:
            ir: Any = r.choice(["", "{", "null", "5", "true", "[]", '"event"', "[\"=\"", MISSING,
                                5, ["=", "a", "b"], [5], None, "NaN", "[1,]", " [\"or\"] "])
            matcher = {"type": "fql"}
            if ir is not MISSING:
                matcher["ir"] = ir
            return matcher
        if kind < 0.1:
            return r.choice([None, False, {}, {"type": "FQL", "ir": "[]"}, {"type": None}, [], "all", 0])
        return {"type": "fql", "ir": json.dumps(self.ir(event, r.randint(0, 3)), ensure_ascii=False)}


def _typeof(value: Any) -> str:
    if value is MISSING:
        return "undefined"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string" if isinstance(value, str) else "object"


def _as_number(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
