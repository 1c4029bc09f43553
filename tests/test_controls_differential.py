"""Our destination's client controls against Statsig's real JS client with its local
overrides (@statsig/js-client and @statsig/js-local-overrides 3.33.5, installed by ./dev),
each against a FakeStatsig serving the same values, through the same steps: overrides,
bootstrap (one made for another user too), parameter stores of every reference type, checks
without exposure, manual exposures, user switches. Both must give the same value and reason
string at every step and log the same exposures (name, metadata, secondary exposures).

What differs for a reason, and so is normalised here: the users themselves (ours carry the
Segment identity: segmentAnonymousId, context fields), so a user is compared by its userID;
``receivedAt`` is a clock reading, compared by its presence."""
import json
import shutil
import subprocess

import pytest

from segment_statsig import Analytics, StatsigDestination
from segment_statsig.testing import FakeStatsig

from .test_statsig_js_client import NODE_DIR, PINNED

KEY = "client-controlsdifferential"
DRIVER = NODE_DIR / "statsig_controls_driver.js"
SECONDARY = [{"gate": "employees", "gateValue": "false", "ruleID": "default"}]
UNDELEGATED = [{"gate": "layer_holdout", "gateValue": "false", "ruleID": "default"}]
EXPOSURES = ("statsig::gate_exposure", "statsig::config_exposure", "statsig::layer_exposure")
JS_USERS = {name: {"userID": name, "customIDs": {"stableID": "device-1"}} for name in ("alice", "bob", "carol", "dave")}


def node_or_fail():
    """node and the pinned packages, or a failure saying how to get them (never a skip)."""
    node = shutil.which("node")
    for package in ("js-client", "js-local-overrides"):
        path = NODE_DIR / "node_modules" / "@statsig" / package / "package.json"
        if node is None or not path.exists():
            pytest.fail(f"node or @statsig/{package} is missing: run ./dev test (it installs both)")
        version = json.loads(path.read_text())["version"]
        assert version == PINNED, f"@statsig/{package} {version} installed, {PINNED} pinned: run ./dev test"
    return node


def serve(fake):
    fake.set_gate("new_checkout", lambda user: user.get("userID") == "alice", secondary_exposures=SECONDARY)
    fake.set_gate("beta", False)
    fake.set_gate("store_only_gate", True)
    fake.set_config("limits", {"max": 3, "label": "three"})
    fake.set_experiment("button_colour", lambda user: ("Test", {"colour": "green"}))
    fake.set_layer("checkout_layer", {"title": "Pay now", "steps": 2}, group_name="Test",
                   allocated_experiment="checkout_copy", explicit_parameters=["title"],
                   secondary_exposures=SECONDARY, undelegated_secondary_exposures=UNDELEGATED)
    fake.set_param_store("checkout_store", {
        "headline": {"ref_type": "static", "param_type": "string", "value": "Welcome"},
        "show_banner": {"ref_type": "gate", "param_type": "boolean", "gate_name": "new_checkout",
                        "pass_value": True, "fail_value": False},
        "banner_text": {"ref_type": "gate", "param_type": "string", "gate_name": "beta",
                        "pass_value": "beta!", "fail_value": "stable"},
        "max_items": {"ref_type": "dynamic_config", "param_type": "number", "config_name": "limits",
                      "param_name": "max"},
        "colour": {"ref_type": "experiment", "param_type": "string", "experiment_name": "button_colour",
                   "param_name": "colour"},
        "title": {"ref_type": "layer", "param_type": "string", "layer_name": "checkout_layer",
                  "param_name": "title"},
        "quiet": {"ref_type": "gate", "param_type": "boolean", "gate_name": "store_only_gate",
                  "pass_value": True, "fail_value": False},
        "odd": {"ref_type": "unknown_kind", "param_type": "string"},
    })


def step(op, **fields):
    return {"op": op, **fields}


STEPS = [
    # checks without exposure, then the manual exposure of what the app saw
    step("gate", name="beta", expose=False),
    step("expose", kind="gate", name="beta"),
    step("gate", name="new_checkout"),
    step("gate", name="not_configured"),
    step("config", name="limits", param="max", expose=False),
    step("expose", kind="config", name="limits"),
    step("experiment", name="button_colour", param="colour", expose=False),
    step("expose", kind="experiment", name="button_colour"),
    step("layer", name="checkout_layer", param="title", expose=False),
    step("expose", kind="layer", name="checkout_layer", param="steps"),
    step("layer", name="checkout_layer", param="title"),
    # parameter stores: every reference type, defaults of the right and of another type
    step("store", name="checkout_store", param="headline", default=None),
    step("store", name="checkout_store", param="show_banner", default=False),
    step("store", name="checkout_store", param="banner_text", default="none"),
    step("store", name="checkout_store", param="max_items", default=0),
    step("store", name="checkout_store", param="colour", default="red"),
    step("store", name="checkout_store", param="title", default="untitled"),
    step("store", name="checkout_store", param="title", default=5),
    step("store", name="checkout_store", param="missing", default="fallback"),
    step("store", name="checkout_store", param="odd", default="fallback"),
    step("store", name="checkout_store", param="quiet", default=False, expose=False),
    step("store", name="no_such_store", param="headline", default="n/a"),
    # local overrides
    step("override", kind="gate", name="new_checkout", value=False),
    step("gate", name="new_checkout"),
    step("override", kind="config", name="limits", value={"max": 10}),
    step("config", name="limits", param="max"),
    step("override", kind="experiment", name="button_colour", value={"colour": "purple"}),
    step("experiment", name="button_colour", param="colour"),
    step("override", kind="layer", name="checkout_layer", value={"title": "Forced title"}),
    step("layer", name="checkout_layer", param="title"),
    step("override", kind="param_store", name="checkout_store", value={"headline": "Forced", "extra": 7}),
    step("store", name="checkout_store", param="headline", default="x"),
    step("store", name="checkout_store", param="extra", default=0),
    step("store", name="checkout_store", param="show_banner", default=True),
    step("override", kind="gate", name="never_served", value=True),
    step("gate", name="never_served"),
    step("remove_override", kind="gate", name="new_checkout"),
    step("gate", name="new_checkout"),
    # a user switch: values and exposures for the new user
    step("switch", user="bob"),
    step("gate", name="new_checkout"),
    step("config", name="limits", param="label"),
    # bootstrap: for the user it was made for, then one made for alice used for dave
    step("bootstrap", user="carol", values="carol"),
    step("gate", name="new_checkout"),
    step("gate", name="beta"),
    step("experiment", name="button_colour", param="colour"),
    step("bootstrap", user="dave", values="alice"),
    step("gate", name="new_checkout"),
    step("remove_override", kind="param_store", name="checkout_store"),
    step("store", name="checkout_store", param="headline", default="x"),
    step("remove_override", kind="layer", name="checkout_layer"),
    step("layer", name="checkout_layer", param="title"),
    # back to the first user, from the network
    step("switch", user="alice"),
    step("gate", name="new_checkout"),
]


def run_js(node):
    with FakeStatsig(api_keys={KEY}) as fake:
        serve(fake)
        bootstraps = {name: fake.evaluate_for(JS_USERS[name]) for name in ("carol", "alice")}
        config = {"url": fake.url, "key": KEY, "users": JS_USERS, "first": "alice", "bootstraps": bootstraps,
                  "steps": STEPS}
        proc = subprocess.run([node, str(DRIVER), json.dumps(config)], capture_output=True, text=True,
                              timeout=120, cwd=NODE_DIR)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        assert proc.returncode == 0 and lines, f"driver exited {proc.returncode}: {proc.stdout[-2000:]} {proc.stderr[-3000:]}"
        out = json.loads(lines[-1])
        assert out["refused"] == []
        fake.check_assertions()
        return out["answers"], fake.events


def run_ours(tmp_path):
    with FakeStatsig(api_keys={KEY}) as fake:
        serve(fake)
        analytics = Analytics(storage_dir=tmp_path / "ours", flush_interval=0.05,
                              settings={"integrations": {"Statsig": {"apiKey": KEY}}})
        dest = analytics.add(StatsigDestination(api_url=fake.url, retry_base=0.02, retry_max=0.2))
        try:
            analytics.identify("alice")
            assert dest.wait_for_values(10)
            answers = [answer_ours(analytics, dest, fake, s) for s in STEPS]
            assert dest.flush_exposures(10) and analytics.flush(timeout=10)
        finally:
            analytics.shutdown(5)
        return answers, fake.events


def answer_ours(analytics, dest, fake, s):
    op, expose = s["op"], s.get("expose", True)
    if op == "gate":
        gate = dest.get_feature_gate(s["name"], log_exposure=expose)
        return [gate.value, gate.details["reason"]]
    if op == "config":
        config = dest.get_config(s["name"], log_exposure=expose)
        return [config.get(s["param"]), config.details["reason"]]
    if op == "experiment":
        experiment = dest.get_experiment(s["name"], log_exposure=expose)
        return [experiment.get(s["param"]), experiment.group_name, experiment.details["reason"]]
    if op == "layer":
        layer = dest.get_layer(s["name"], log_exposure=expose)
        return [layer.get(s["param"]), layer.details["reason"]]
    if op == "store":
        store = dest.get_parameter_store(s["name"], log_exposure=expose)
        return [store.get(s["param"], s["default"]), store.details["reason"]]
    if op == "expose":
        manual = {"gate": dest.log_gate_exposure, "config": dest.log_config_exposure,
                  "experiment": dest.log_experiment_exposure}
        if s["kind"] == "layer":
            dest.log_layer_parameter_exposure(s["name"], s["param"])
        else:
            manual[s["kind"]](s["name"])
        return None
    if op == "override":
        getattr(dest, "override_" + {"param_store": "parameter_store"}.get(s["kind"], s["kind"]))(s["name"], s["value"])
        return None
    if op == "remove_override":
        kind = {"param_store": "parameter_store"}.get(s["kind"], s["kind"])
        getattr(dest, f"remove_{kind}_override")(s["name"])
        return None
    if op == "switch":
        analytics.identify(s["user"])
        assert dest.wait_for_values(10)
        return dest.values_reason
    if op == "bootstrap":
        made_for = dest._initialize_user(s["values"], {})
        dest.bootstrap(fake.evaluate_for(made_for), user_id=s["user"])
        if analytics.user_id != s["user"]:
            analytics.identify(s["user"])
        return dest.values_reason
    raise AssertionError(f"unknown step {op}")


def normalised(events):
    """The exposures, in order: name, metadata (receivedAt by presence, bootstrapMetadata's
    user by userID), secondary exposures, and the userID of the user."""
    out = []
    for event in events:
        if event["eventName"] not in EXPOSURES:
            continue
        metadata = dict(event["metadata"])
        metadata["receivedAt"] = "receivedAt" in metadata
        boot = metadata.get("bootstrapMetadata")
        if isinstance(boot, dict):
            metadata["bootstrapMetadata"] = {**boot, "user": (boot.get("user") or {}).get("userID")}
        out.append({"eventName": event["eventName"], "metadata": metadata,
                    "secondaryExposures": event.get("secondaryExposures"),
                    "userID": (event.get("user") or {}).get("userID")})
    return out


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    node = node_or_fail()
    return run_js(node), run_ours(tmp_path_factory.mktemp("controls"))


def test_every_step_answers_the_same_value_and_reason(both):
    (js_answers, _), (our_answers, _) = both
    assert len(js_answers) == len(STEPS)
    differences = [(i, STEPS[i], js, ours) for i, (js, ours) in enumerate(zip(js_answers, our_answers)) if js != ours]
    assert differences == [], "\n".join(f"step {i} {s}: JS {js!r}, ours {ours!r}" for i, s, js, ours in differences)
    # the steps reach what they are meant to: overrides, bootstrap with and without a mismatch
    reasons = {a[-1] for a in js_answers if isinstance(a, list)}
    assert {"LocalOverride:Recognized", "Bootstrap:Recognized", "BootstrapPartialUserMatch:Recognized",
            "Network:Recognized", "Network:Unrecognized"} <= reasons


def test_the_same_exposures(both):
    """As multisets: the JS client flushes at each user switch without waiting, so the order
    its requests arrive in is not the order of its checks."""
    (_, js_events), (_, our_events) = both
    js, ours = normalised(js_events), normalised(our_events)
    assert len(js) >= 20

    def key(event):
        return json.dumps(event, sort_keys=True)
    assert sorted(map(key, ours)) == sorted(map(key, js))
    # and what the steps are there for: exposures of overrides and of bootstrap values
    reasons = {e["metadata"]["reason"] for e in js}
    assert {"LocalOverride:Recognized", "Bootstrap:Recognized", "BootstrapPartialUserMatch:Recognized"} <= reasons
    assert all("bootstrapMetadata" in e["metadata"] for e in js if e["metadata"]["reason"].startswith("Bootstrap"))
