"""The transformer steps of the filter cases: drop, allow, sample and map configs, malformed ones included."""
from __future__ import annotations

from typing import Any, Dict, List

from .events import KEYS, MISSING, Events, read_path

TRANSFORMERS = ["drop", "drop_properties", "allow_properties", "sample_event", "map_properties",
                "hash_properties", "bad"]
TRANSFORMER_WEIGHTS = [3, 18, 18, 14, 32, 4, 3]


class Transformers(Events):
    """Transformer steps built from the event's own keys and containers, and from keys it lacks."""

    def containers(self, event: Dict[str, Any]) -> List[str]:
        return [path for path, value in self.walk(event) if isinstance(value, (dict, list))]

    def key_list(self, event: Dict[str, Any], path: str) -> Any:
        r = self.r
        holder = event if path == "" else read_path(event, path)
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

