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
"""
from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any, Dict, Iterator, List, Tuple

INFINITY = 9.87654321e300  # written as 1e400 in the case text: JSON.parse reads Infinity
_INFINITY_TEXT = (json.dumps(INFINITY), "1e400")
MISSING = object()

KEYS = ["a", "b", "name", "email", "price", "count", "flag", "items", "tags", "nested", "nul",
        "s", "n", "l", "x", "0", "1", "10", "", "length", "prototype", "é", "日本", "a b",
        "true", "null", "00", "-1", "1e3", " ", "w.y", "w\\", "Name", "ÄB"]
EVENT_NAMES = ["Order Completed", "order completed", "Login Button Clicked", "Product Viewed", "",
               "Ünïcödé Event", "日本語", "a/b/c", "Segment Consent Preference Updated"]
STRINGS = ["", "a", "abc", "ABC", "Hello World", "hello world", "42", "3.14", "-1", " 7 ", "1e3",
           "0x1A", "0b11", "Infinity", "true", "false", "null", "undefined", "1.2.3", "1.10.0",
           "v1.2", " 2.0 ", "2.0.0-beta", "Ünïcödé", "ÀÉÎ", "日本語", "😀", "a😀b", "ΣΑΣ ΟΔΟΣ",
           "İstanbul", "ß", "\ud800", "x\udfffy", "a*b", "a?c", "[abc]", "ab/c", "\\", "%41",
           "line\nbreak", "tab\t", "\u0000", "\u2028", "\ufeff1", "\u00a0 5 ", "ǅ", "ﬀ", "ab",
           "event", "properties.s", "userId"]  # the last ones are paths too (a bare string in an `in` list)
IR_SHAPED: List[List[Any]] = [["lowercase", "event"], ["length", "properties.s"], ["typeof", "userId"],
             ["contains", "event", {"value": "O"}], ["match", "type", {"value": "t*"}],
             ["semver", {"value": "1.2"}, {"value": "<"}, {"value": "1.10"}]]  # tsub evaluates these
NUMBERS = [0, 1, -1, 2, 42, 100, 3.14, -2.5, -0.0, 0.5, 1e21, 1e-7, 123456789012345680000,
           2 ** 53 + 1, 2 ** 53, 10 ** 20, 123456789.123, 5e-324, 1.7976931348623157e308,
           INFINITY, -INFINITY, 0.1 + 0.2, 100.0, 1.5e-6, 7, 99.99]
VERSIONS = ["1.2.3", "1.2", "2", "1.10.0", "1.9.9", " 1.2.3 ", "1.2.3.4", "v1", "1.a", "", "01.2",
            "1.2.3-beta", "-1.0", "+1.0", "99999999999999999999.0", "1..2", "2.0.0", "1.2.3 ",
            "0.0.0", "10", "1.2.x"]
SEMVER_OPS = ["=", "!=", ">", ">=", "<", "<=", "~", "=="]
GLOB_ODD = ["*", "", "**", "*?*", "[", "a\\", "[]", "[a-", "[z-a]*", "[\\", "[^]x", "a[b", "?",
            "[!a]*", "*\\*", "\\*", "[a-z]*", "[^a-z]*", "[A-Z]*", "*/*", "*[0-9]*", "[]a]*"]
OPS = ["=", "!=", "<", "<=", ">", ">=", "and", "or", "!", "in", "contains", "match", "lowercase",
       "typeof", "length", "semver", "path", "bad"]
OP_WEIGHTS = [14, 8, 5, 5, 5, 5, 7, 7, 5, 7, 6, 7, 2, 2, 2, 5, 3, 2]
TRANSFORMERS = ["drop", "drop_properties", "allow_properties", "sample_event", "map_properties",
                "hash_properties", "bad"]
TRANSFORMER_WEIGHTS = [3, 18, 18, 14, 32, 4, 3]


class Generator:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    # --- values and events ----------------------------------------------------------
    def scalar(self) -> Any:
        r = self.r
        kind = r.random()
        if kind < 0.12:
            return r.choice([None, True, False])
        if kind < 0.45:
            return r.choice(NUMBERS)
        if kind < 0.55:
            return str(r.choice(NUMBERS))
        return r.choice(STRINGS)

    def value(self, depth: int) -> Any:
        kind = self.r.random()
        if depth <= 0 or kind < 0.6:
            return self.scalar()
        if kind < 0.8:
            if self.r.random() < 0.08:
                return list(self.r.choice(IR_SHAPED))
            return [self.value(depth - 1) for _ in range(self.r.randint(0, 4))]
        return self.obj(depth - 1, self.r.randint(0, 4))

    def obj(self, depth: int, size: int) -> Dict[str, Any]:
        return {key: self.value(depth) for key in self.r.sample(KEYS, size)}

    def props(self) -> Any:
        r = self.r
        props = self.obj(2, r.randint(2, 7))
        if r.random() < 0.3:  # a list of objects, as drop/allow on a list acts on each
            props["items"] = [{"name": r.choice(STRINGS), "price": r.choice(NUMBERS), "x": self.scalar()}
                              for _ in range(r.randint(0, 3))]
        if r.random() < 0.2:
            props["nul"] = None
        return props

    def event(self) -> Dict[str, Any]:
        r = self.r
        event: Dict[str, Any] = {"type": r.choice(["track", "identify", "page", "screen", "group"]),
                                 "messageId": r.choice(["m-1", "abc", "0", "", "😀", "1"]),
                                 "anonymousId": r.choice(["anon-1", "a2", ""])}
        if r.random() < 0.8:
            event["event"] = r.choice(EVENT_NAMES)
        if r.random() < 0.6:
            event["userId"] = r.choice(["u1", "user-42", "", None, 42, "42"])
        shape = r.random()
        event["properties"] = self.props() if shape < 0.9 else r.choice([None, [], {}, "p", [1, {"a": 1}]])
        if r.random() < 0.7:
            event["context"] = {"app": {"version": r.choice(VERSIONS), "build": r.choice(["7", 7, None])},
                                "library": {"name": "analytics-python", "version": "2.3.0"},
                                "locale": r.choice(["en-US", "fr-FR", "", None])}
        if r.random() < 0.4:
            event["traits"] = self.obj(1, r.randint(0, 4))
        if r.random() < 0.3:
            event["integrations"] = {"Statsig": r.choice([True, False]), "All": True}
        return event

    # --- paths ----------------------------------------------------------------------
    def walk(self, value: Any, prefix: str = "") -> Iterator[Tuple[str, Any]]:
        if isinstance(value, dict):
            for key, item in value.items():
                path = key if prefix == "" and key != "" else f"{prefix}.{key}"
                yield path, item
                yield from self.walk(item, path)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                path = f"{prefix}.{i}"
                yield path, item
                yield from self.walk(item, path)
        elif isinstance(value, str) and value and self.r.random() < 0.2:
            yield f"{prefix}.length", len(value)
            yield f"{prefix}.0", value[0]

    def pick(self, event: Dict[str, Any]) -> Tuple[Any, Any]:
        """(a path, what it holds or MISSING)."""
        r = self.r
        real = list(self.walk(event))
        kind = r.random()
        if kind < 0.6 and real:
            return r.choice(real)
        if kind < 0.72 and real:
            path, _ = r.choice(real)
            return path + r.choice([".length", ".0", ".x", ".", ".1"]), MISSING
        if kind < 0.88:
            prefix = r.choice(["properties", "context", "traits", "context.app", "properties.items.0", ""])
            path = ".".join(p for p in [prefix] + r.sample(KEYS, r.randint(1, 2)) if p) or "x"
            return path, MISSING
        if kind < 0.97:
            return r.choice(["event", "type", "userId", "", "properties", "missing", "properties..a",
                             "properties.items.1.name", "context.app.version", "messageId"]), MISSING
        return r.choice([5, 0, True, False, -1.5]), MISSING  # not a string: reads the whole event

    # --- matchers -------------------------------------------------------------------
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
                path, value = "properties.nul", _read(event, "properties.nul")  # null has length 0
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

    # --- transformers ---------------------------------------------------------------
    def containers(self, event: Dict[str, Any]) -> List[str]:
        return [path for path, value in self.walk(event) if isinstance(value, (dict, list))]

    def key_list(self, event: Dict[str, Any], path: str) -> Any:
        r = self.r
        holder = event if path == "" else _read(event, path)
        own = []
        if isinstance(holder, dict):
            own = list(holder)
        elif isinstance(holder, list):
            own = [k for item in holder if isinstance(item, dict) for k in item] + [str(i) for i in range(len(holder))]
        chosen = r.sample(own, min(len(own), r.randint(0, 3))) + r.sample(KEYS, r.randint(0, 2))
        kind = r.random()
        if kind < 0.1:  # a string: allow keeps its substrings, drop throws
            return r.choice(["".join(own[:3]), "abc", "name", 5, None, {"a": 1}, True, ""])
        if kind < 0.08:
            chosen.append(r.choice([0, 1, 1.5, None, True, ["a"], 1e21, -0.0]))
        return chosen

    def filter_config(self, event: Dict[str, Any], name: str) -> Any:
        r = self.r
        if r.random() < 0.04:
            return r.choice([MISSING, None, {}, {name: None}, {name: "ab"}, {name: ["a"]}, {name: 5}])
        paths = self.containers(event)
        config = {}
        for _ in range(r.randint(1, 3)):
            kind = r.random()
            if kind < 0.1:
                path = ""
            elif kind < 0.75 and paths:
                path = r.choice(paths)
            else:
                path = r.choice(["properties", "context", "traits", "context.app", "properties.items",
                                 "missing", "properties.s", "properties.nul", str(self.pick(event)[0])])
            config[path] = self.key_list(event, path)
        return {name: config}

    def sample_config(self, event: Dict[str, Any]) -> Any:
        r = self.r
        if r.random() < 0.04:
            return r.choice([MISSING, None, {}, {"sample": None}, {"sample": "x"}])
        sample: Dict[str, Any] = {}
        percent = r.choice([0.5, 0.25, 0.75, 0.01, 0.99, 0.999999, 0.1, 0.9, 0, -0.5, 1, 2,
                            "0.5", "1", "", None, True, False, [0.5], [], {}, "abc", MISSING])
        if percent is not MISSING:
            sample["percent"] = percent
        kind = r.random()
        if kind < 0.55:
            sample["path"] = self.pick(event)[0]
        elif kind < 0.9:
            path = r.choice([MISSING, "", None, 0, False, "messageId", "userId", "properties", "nope.x",
                             5, True, ["properties", r.choice(KEYS)], {}, ["messageId"]])
            if path is not MISSING:
                sample["path"] = path
        return {"sample": sample}

    def map_target(self, event: Dict[str, Any]) -> str:
        r = self.r
        real = [path for path, _ in self.walk(event) if isinstance(path, str)]
        kind = r.random()
        if kind < 0.35 and real:
            return r.choice(real)
        if kind < 0.6:
            return r.choice(["properties", "context", "traits", "properties.items.0"]) + "." + r.choice(KEYS)
        return r.choice(["foo", "", "properties.", "properties.a.b.c", "properties.items.0.x",
                         "properties.n.0", "properties.l.5", "properties.l.length", "properties.s.x",
                         "properties.nul.x", "properties.prototype.x", "properties.new.00",
                         "properties.new.-1", "properties.new. ", "properties.items.length",
                         "properties.l.x", "properties.w\\.y", "properties.tags.1", "userId"])

    def map_source(self, event: Dict[str, Any]) -> Any:
        r = self.r
        kind = r.random()
        if kind < 0.65:
            return self.pick(event)[0]
        if kind < 0.85:
            return r.choice(["properties.s.0", "properties.l.length", "properties.w\\.y", "properties.nul",
                             "properties.n", "missing.path", "properties.items.0", "properties",
                             "properties.items.0.name", "properties.s.length"])
        return r.choice([5, 0, "", None, True, ["properties", "a"], {}, ["properties"]])

    def map_action(self, event: Dict[str, Any]) -> Any:
        r = self.r
        kind = r.random()
        if kind < 0.03:
            return r.choice([None, "str", 5, [], True])
        action: Dict[str, Any] = {}
        verb = r.choices(["copy", "move", "set", "none", "copy+move", "copy+set"], [30, 25, 25, 8, 6, 6])[0]
        if verb in ("copy", "copy+move", "copy+set"):
            action["copy"] = self.map_source(event)
        if verb in ("move", "copy+move"):
            action["move"] = self.map_source(event)
        if verb in ("set", "copy+set"):
            action["set"] = self.value(2)
        if r.random() < 0.35:
            action["to_string"] = r.choice([True, True, True, 1, False, "yes", 0])
        return action

    def map_config(self, event: Dict[str, Any]) -> Any:
        r = self.r
        if r.random() < 0.04:
            return r.choice([MISSING, None, {}, {"map": None}, {"map": "ab"},
                             {"map": [{"copy": "event"}]}, {"map": 5}])
        return {"map": {self.map_target(event): self.map_action(event) for _ in range(r.randint(1, 4))}}

    def transformer(self, event: Dict[str, Any]) -> Any:
        r = self.r
        kind = r.choices(TRANSFORMERS, TRANSFORMER_WEIGHTS)[0]
        if kind == "bad":
            return r.choice([{"type": "rename"}, {"type": None}, {}, None, "drop", 5, [], {"type": "DROP"}])
        config: Any = MISSING
        if kind == "drop_properties":
            config = self.filter_config(event, "drop")
        elif kind == "allow_properties":
            config = self.filter_config(event, "allow")
        elif kind == "sample_event":
            config = self.sample_config(event)
        elif kind == "map_properties":
            config = self.map_config(event)
        elif kind == "hash_properties":
            config = r.choice([MISSING, {"hash": {"properties": ["email"]}}, None])
        transformer = {"type": kind}
        if config is not MISSING:
            transformer["config"] = config
        return transformer

    def transformers(self, event: Dict[str, Any]) -> Any:
        r = self.r
        if r.random() < 0.02:
            return r.choice(["", "ab", None, {}, 5])
        return [self.transformer(event) for _ in range(r.choice([1, 1, 2, 2, 3, 4]))]

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


def _read(event: Any, path: str) -> Any:
    for key in path.split("."):
        if isinstance(event, dict):
            event = event.get(key)
        elif isinstance(event, list) and key.isdigit() and int(key) < len(event):
            event = event[int(key)]
        else:
            return None
    return event


def generate(seed: int, counts: Dict[str, int]) -> List[str]:
    """The cases as JSON lines (the text both engines read), counts[kind] of each kind."""
    generator = Generator(seed)
    lines = []
    for kind, count in counts.items():
        for _ in range(count):
            text = json.dumps(generator.case(kind), ensure_ascii=True)
            lines.append(text.replace(*_INFINITY_TEXT))
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
