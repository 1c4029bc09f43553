"""Seeded config specs and users for the on-device evaluation tests.

`agreed(seed)` makes specs on which Statsig's two evaluators (the JS on-device client and the
Python server SDK) are meant to agree: every condition type but target_app, every operator but
segment lists, pass percentages, nested and multi gates, segment gates, layers delegating to
experiments, disabled specs, environment tiers. Inputs stay where the two languages read JSON
alike (the cases where they do not are docs/ON_DEVICE.md's table; `edges(seed)` makes them, for
the JS client alone).
"""
import json
import random

TIERS = ["production", "staging", "development", None]
WORDS = ["alpha", "beta", "gamma", "ios", "android", "pro", "free", "team"]
COUNTRIES = ["US", "CA", "FR", "GB", "JP"]  # no code inside "undefined" (JS reads a missing field as that text)
VERSIONS = ["1.2.3", "1.10.0", "2.0", "2.0.1-beta", "10.4.1", "1.2"]
PATTERNS = ["^[A-Z]{2}$", "example\\.com$", "^u[0-9]+7", "beta", "\\d+\\.\\d+", "^(pro|team)$"]
SECONDS = [1_600_000_000, 1_700_000_000, 1_700_050_000, 1_800_000_000]


def user(rng):
    """A Statsig user dict (statsigEnvironment only when it has a tier)."""
    u = {"userID": f"u{rng.randrange(100000)}", "customIDs": {"stableID": f"s-{rng.randrange(10**9):x}"},
         "country": rng.choice(COUNTRIES), "ip": f"10.0.{rng.randrange(255)}.{rng.randrange(255)}",
         "userAgent": rng.choice(["Mozilla/5.0 (iPhone)", "okhttp/4.12", "Mozilla/5.0 (X11; Linux)"]),
         "custom": {"plan": rng.choice(WORDS), "age": rng.randrange(10, 80), "score": rng.randrange(0, 100) + 0.5,
                    "tags": rng.sample(WORDS, rng.randrange(0, 3)) + rng.sample([3, 7, 42], rng.randrange(0, 2)),
                    "signup": rng.choice(SECONDS) * rng.choice([1, 1000]), "beta": rng.random() < 0.5}}
    if rng.random() < 0.7:
        u["email"] = f"{rng.choice(WORDS)}@{rng.choice(['example.com', 'corp.io'])}"
    if rng.random() < 0.7:
        u["appVersion"] = rng.choice(VERSIONS)
    if rng.random() < 0.5:
        u["locale"] = rng.choice(["en_US", "fr_FR", "ja_JP"])
    if rng.random() < 0.5:
        u["customIDs"]["companyID"] = f"c-{rng.randrange(50)}"
    if rng.random() < 0.3:
        u["privateAttributes"] = {"secret": rng.choice(WORDS)}
    tier = rng.choice(TIERS)
    if tier is not None:
        u["statsigEnvironment"] = {"tier": tier}
    return u


def _condition(rng, gates):
    """One condition, its operator and target chosen so both SDKs read them alike."""
    kind = rng.choice(["public"] + ["user_field"] * 4 + ["pass_gate", "fail_gate",
                       "multi_pass_gate", "multi_fail_gate", "user_bucket", "unit_id", "environment_field",
                       "current_time", "ip_based", "ua_based"])
    c = {"type": kind, "idType": rng.choice(["userID", "stableID", "companyID"]), "additionalValues": {}}
    if kind == "public":
        return c
    if kind in ("pass_gate", "fail_gate"):
        c["targetValue"] = rng.choice(gates) if gates else "segment:paid"
        return c
    if kind in ("multi_pass_gate", "multi_fail_gate"):
        c["targetValue"] = rng.sample(gates, min(len(gates), rng.randrange(1, 4))) if gates else ["segment:paid"]
        return c
    if kind == "user_bucket":
        c["additionalValues"] = {"salt": f"b{rng.randrange(1000)}"}
        if rng.random() < 0.5:
            c["operator"], c["targetValue"] = rng.choice(["lt", "gte"]), rng.randrange(1000)
        else:
            c["operator"], c["targetValue"] = rng.choice(["any", "none"]), rng.sample(range(1, 1000), 300)
        return c
    if kind == "environment_field":
        c["field"] = "tier"
        c["operator"] = rng.choice(["any", "none", "eq", "neq"])
        tiers = rng.sample(TIERS[:3], rng.randrange(1, 3))
        c["targetValue"] = tiers if c["operator"] in ("any", "none") else tiers[0]
        return c
    if kind == "current_time":
        c["operator"] = rng.choice(["before", "after"])
        c["targetValue"] = rng.choice([946_684_800, 4_102_444_800_000])  # 2000 in s, 2100 in ms
        return c
    if kind == "unit_id":
        c["operator"] = rng.choice(["any", "none", "str_starts_with_any", "str_contains_none"])
        c["targetValue"] = [f"c-{rng.randrange(50)}" for _ in range(10)] + ["u1", "s-a"]
        return c
    if kind == "ip_based":
        c["field"], c["operator"], c["targetValue"] = "country", rng.choice(["any", "none"]), rng.sample(COUNTRIES, 2)
        return c
    if kind == "ua_based":
        c["field"], c["operator"], c["targetValue"] = "userAgent", "str_contains_any", [rng.choice(["iPhone", "okhttp"])]
        return c
    return _user_field(rng, c)


def _user_field(rng, c):
    family = rng.choice(["strings", "numbers", "versions", "regex", "equality", "times", "arrays"])
    if family == "strings":
        c["field"] = rng.choice(["plan", "PLAN", "country", "email", "locale", "userID", "secret"])
        c["operator"] = rng.choice(["any", "none", "any_case_sensitive", "none_case_sensitive", "str_starts_with_any",
                                    "str_ends_with_any", "str_contains_any", "str_contains_none"])
        pool = WORDS + COUNTRIES + ["US", "us", "example.com", ".io", "en_", "_JP", "u1", "u2"]
        c["targetValue"] = rng.sample(pool, rng.randrange(1, 5))
    elif family == "numbers":
        c["field"] = rng.choice(["age", "score", "beta"])
        c["operator"] = rng.choice(["gt", "gte", "lt", "lte"])
        c["targetValue"] = rng.choice([rng.randrange(0, 90), rng.randrange(0, 90) + 0.5, str(rng.randrange(0, 90))])
    elif family == "versions":
        c["field"] = rng.choice(["appVersion", "appVersion", "age"])
        c["operator"] = rng.choice(["version_gt", "version_gte", "version_lt", "version_lte", "version_eq", "version_neq"])
        c["targetValue"] = rng.choice(VERSIONS + ["1.2.3.0", "30"])
    elif family == "regex":
        c["field"] = rng.choice(["country", "email", "userID", "plan", "appVersion"])
        c["operator"], c["targetValue"] = "str_matches", rng.choice(PATTERNS)
    elif family == "equality":
        field, target = rng.choice([("plan", rng.choice(WORDS)), ("age", rng.randrange(10, 80)),
                                    ("beta", rng.random() < 0.5), ("email", None), ("country", rng.choice(COUNTRIES))])
        c["field"], c["operator"], c["targetValue"] = field, rng.choice(["eq", "neq"]), target
    elif family == "times":
        c["field"] = "signup"
        c["operator"] = rng.choice(["before", "after", "on"])
        c["targetValue"] = rng.choice(SECONDS) * rng.choice([1, 1000]) + rng.choice([0, 3600, -86400 * 2])
    else:
        c["field"] = rng.choice(["tags", "plan"])
        c["operator"] = rng.choice(["array_contains_any", "array_contains_none", "array_contains_all",
                                    "not_array_contains_all"])
        c["targetValue"] = rng.sample(WORDS + ["3", "7", "42"], rng.randrange(1, 3))
    return c


USER_FIELD_OPERATORS = ["gt", "gte", "lt", "lte", "version_gt", "version_gte", "version_lt", "version_lte",
                        "version_eq", "version_neq", "any", "none", "any_case_sensitive", "none_case_sensitive",
                        "str_starts_with_any", "str_ends_with_any", "str_contains_any", "str_contains_none",
                        "str_matches", "eq", "neq", "before", "after", "on", "array_contains_any",
                        "array_contains_none", "array_contains_all", "not_array_contains_all"]


def _every_operator(rng):
    """A gate with one rule per operator, so that each seed covers them all."""
    rules = []
    for operator in USER_FIELD_OPERATORS:
        for _ in range(1000):  # a family draws its operator among at most 8
            condition = _user_field(rng, {"type": "user_field", "idType": "userID"})
            if condition["operator"] == operator:
                break
        rules.append({"name": f"op:{operator}", "id": f"op:{operator}", "salt": operator, "idType": "userID",
                      "passPercentage": 100, "conditions": [condition], "returnValue": True})
    return dict(_spec(rng, "gate_every_operator", "feature_gate", "feature_gate", rules, False), enabled=True)


def _rules(rng, prefix, gates, count, value, groups=False, delegates=()):
    rules = []
    for i in range(count):
        rule_id = f"{prefix}:r{i}"
        rule = {"name": rule_id, "id": rule_id, "salt": f"{prefix}-salt{i}", "idType": rng.choice(["userID", "stableID"]),
                "passPercentage": rng.choice([0, 100, 100, 50, 33.3, 90]),
                "conditions": [_condition(rng, gates) for _ in range(rng.randrange(1, 4))], "returnValue": value(i)}
        if groups:
            rule["groupName"], rule["isExperimentGroup"] = f"Group {i}", rng.random() < 0.7
        if delegates:
            rule["configDelegate"] = rng.choice(list(delegates))
            rule["passPercentage"] = 100
        rules.append(rule)
    return rules


def _spec(rng, name, kind, entity, rules, default, **extra):
    return {"name": name, "type": kind, "entity": entity, "salt": f"{name}-salt", "enabled": rng.random() < 0.9,
            "defaultValue": default, "idType": "userID", "rules": rules, **extra}


def agreed(seed, gate_count=14, config_count=6, experiment_count=6, layer_count=3):
    """Config specs (a dict, format v1) on which both of Statsig's evaluators agree."""
    rng = random.Random(seed)
    gates = [{"name": "segment:paid", "type": "feature_gate", "entity": "segment", "salt": "seg", "enabled": True,
              "defaultValue": False, "idType": "userID",
              "rules": [{"name": "seg-r", "id": "seg-r", "salt": "seg-r", "idType": "userID", "passPercentage": 100,
                         "returnValue": True, "conditions": [_user_field(rng, {"type": "user_field"})]}]}]
    names = ["segment:paid"]
    for i in range(gate_count):
        name = f"gate_{i}"
        gates.append(_spec(rng, name, "feature_gate", "feature_gate",
                           _rules(rng, name, names, rng.randrange(1, 4), lambda _: True), False))
        names.append(name)
    gates.append(_every_operator(rng))
    configs = []
    for i in range(config_count):
        name = f"config_{i}"
        configs.append(_spec(rng, name, "dynamic_config", "dynamic_config",
                             _rules(rng, name, names, rng.randrange(1, 4), lambda r, n=name: {"source": n, "rule": r}),
                             {"source": "default", "n": i}))
    layer_of = {f"exp_{i}": f"layer_{i % layer_count}" for i in range(experiment_count)}
    for i in range(experiment_count):
        name = f"exp_{i}"
        rules = _rules(rng, name, names, rng.randrange(1, 4),
                       lambda r, n=name: {"color": f"{n}-{r}", "size": r}, groups=True)
        configs.append(_spec(rng, name, "dynamic_config", "experiment", rules, {"color": "default"},
                             isActive=rng.random() < 0.8, hasSharedParams=True, explicitParameters=["color", "size"]))
    layers = []
    for i in range(layer_count):
        name = f"layer_{i}"
        mine = [e for e, layer in layer_of.items() if layer == name]
        rules = _rules(rng, name, names, rng.randrange(1, 3), lambda r: {"color": f"layer-{r}"}, delegates=mine)
        rules.append({"name": f"{name}:open", "id": f"{name}:open", "salt": f"{name}:open", "idType": "userID",
                      "passPercentage": 50, "conditions": [{"type": "public"}], "returnValue": {"color": "open"}})
        spec = _spec(rng, name, "dynamic_config", "layer", rules, {"color": "layer-default", "size": 0, "font": "serif"},
                     explicitParameters=[])
        spec["enabled"] = True
        layers.append(spec)
    return {"has_updates": True, "time": 1_733_000_000_000 + seed, "feature_gates": gates, "dynamic_configs": configs,
            "layer_configs": layers, "layers": {f"layer_{i}": [e for e, l in layer_of.items() if l == f"layer_{i}"]
                                                for i in range(layer_count)}, "id_lists": {}}


def users(seed, count):
    rng = random.Random(seed * 7919 + 1)
    return [user(rng) for _ in range(count)]


def text(specs):
    return json.dumps(specs, separators=(",", ":"))


# --- where Statsig's evaluators differ among themselves: JS is the contract -----------------
EDGE_CONDITIONS = {
    # name: (condition, what differs; docs/ON_DEVICE.md has the table)
    "missing_field_is_text_undefined": {"type": "user_field", "field": "nickname", "operator": "str_contains_any",
                                        "targetValue": ["def"]},
    "missing_field_matches_regex": {"type": "user_field", "field": "nickname", "operator": "str_matches",
                                    "targetValue": "^und"},
    "loose_eq_number_text": {"type": "user_field", "field": "age_text", "operator": "eq", "targetValue": 30},
    "loose_eq_bool_number": {"type": "user_field", "field": "beta", "operator": "eq", "targetValue": 1},
    "gt_text_text_is_alphabetical": {"type": "user_field", "field": "age_text", "operator": "gt", "targetValue": "9"},
    "gt_non_numeric": {"type": "user_field", "field": "plan", "operator": "gt", "targetValue": 1},
    "env_field_any_case": {"type": "environment_field", "field": "TIER", "operator": "any",
                           "targetValue": ["staging"]},
    "ua_field_not_parsed": {"type": "ua_based", "field": "os_name", "operator": "any", "targetValue": ["iOS"]},
    "ip_country_not_looked_up": {"type": "ip_based", "field": "country", "operator": "none", "targetValue": ["US"]},
    "field_alias_user_id": {"type": "user_field", "field": "user_id", "operator": "none", "targetValue": ["x"]},
    "empty_text_falls_to_custom": {"type": "user_field", "field": "locale", "operator": "any",
                                   "targetValue": ["en_us"]},
    "array_has_zero": {"type": "user_field", "field": "counts", "operator": "array_contains_any",
                       "targetValue": ["0"]},
    "time_iso_text": {"type": "user_field", "field": "signup_iso", "operator": "after",
                      "targetValue": "2024-01-01T00:00:00Z"},
    "time_sub_second": {"type": "user_field", "field": "signup_ms", "operator": "after",
                        "targetValue": 1_700_000_000_400},
    "version_leading_dash": {"type": "user_field", "field": "appVersion", "operator": "version_eq",
                             "targetValue": "-1.2.3"},
    "in_segment_list": {"type": "unit_id", "idType": "userID", "operator": "in_segment_list",
                        "targetValue": "list_a"},
    "target_app": {"type": "target_app", "operator": "any", "targetValue": ["app1"]},
    "unknown_type": {"type": "phase_of_moon", "operator": "any", "targetValue": ["full"]},
    "unknown_operator": {"type": "user_field", "field": "plan", "operator": "sounds_like", "targetValue": ["pro"]},
    "unknown_gate": {"type": "pass_gate", "targetValue": "no_such_gate"},
    "multi_gate_not_a_list": {"type": "multi_pass_gate", "targetValue": "gate_edge_public"},
}


def edges(seed):
    """Specs of one gate per edge condition, one config reading each, and the users that tell
    the evaluators apart (JS is the contract: tests compare these with the JS client alone)."""
    gates = [{"name": "gate_edge_public", "type": "feature_gate", "entity": "feature_gate", "salt": "p", "enabled": True,
              "defaultValue": False, "idType": "userID",
              "rules": [{"name": "pub", "id": "pub", "salt": "pub", "idType": "userID", "passPercentage": 100,
                         "returnValue": True, "conditions": [{"type": "public"}]}]}]
    for name, condition in EDGE_CONDITIONS.items():
        gates.append({"name": name, "type": "feature_gate", "entity": "feature_gate", "salt": name, "enabled": True,
                      "defaultValue": False, "idType": "userID",
                      "rules": [{"name": f"{name}:r", "id": f"{name}:r", "salt": "r", "idType": "userID",
                                 "passPercentage": 100, "returnValue": True,
                                 "conditions": [dict(condition, idType=condition.get("idType", "userID"))]}]})
    configs = [{"name": "config_edges", "type": "dynamic_config", "entity": "dynamic_config", "salt": "c", "enabled": True,
                "defaultValue": {"v": "default"}, "idType": "userID",
                "rules": [{"name": f"c:{g['name']}", "id": f"c:{g['name']}", "salt": "c", "idType": "userID",
                           "passPercentage": 100, "returnValue": {"v": g["name"]},
                           "conditions": [{"type": "pass_gate", "targetValue": g["name"], "idType": "userID"}]}
                          for g in gates[1:]]}]
    rng = random.Random(seed)
    people = []
    for person in users(seed, 40):
        person["custom"].update({"age_text": rng.choice(["30", "10", "8", "abc"]), "counts": rng.choice([[0, 1], [2]]),
                                 "signup_iso": rng.choice(["2023-06-01T00:00:00Z", "2025-02-01T00:00:00Z"]),
                                 "signup_ms": 1_700_000_000_000 + rng.choice([0, 900])})
        if rng.random() < 0.5:
            person["locale"] = ""
            person["custom"]["locale"] = "en_US"
        person["appVersion"] = rng.choice(["-1.2.3", "1.2.3", "2.0"])
        people.append(person)
    specs = {"has_updates": True, "time": 1_733_000_000_000, "feature_gates": gates, "dynamic_configs": configs,
             "layer_configs": [], "layers": {}, "id_lists": {}}
    return specs, people
