"""The values and events of the filter cases, and the paths an event holds or does not."""
from __future__ import annotations

import json
import random
from typing import Any, Dict, Iterator, List, Tuple

INFINITY = 9.87654321e300  # written as 1e400 in the case text: JSON.parse reads Infinity
INFINITY_TEXT = (json.dumps(INFINITY), "1e400")
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


class Events:
    """The generator's seeded random source, and the values, events and paths it draws."""

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


def read_path(event: Any, path: str) -> Any:
    """What a dotted path holds in the event (None where it leads nowhere)."""
    for key in path.split("."):
        if isinstance(event, dict):
            event = event.get(key)
        elif isinstance(event, list) and key.isdigit() and int(key) < len(event):
            event = event[int(key)]
        else:
            return None
    return event
