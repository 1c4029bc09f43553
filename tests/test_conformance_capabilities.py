"""One rule per case, declared capabilities, and the reports a CI reads: a case needing a
capability the adapter lacks is skipped and says which; batch boundaries count only where a
case is about batching; `verify --junit-xml` and `--json` carry every verdict."""
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segment_statsig.testing import adapters
from segment_statsig.testing.__main__ import main
from segment_statsig.testing.capabilities import ALL, CAPABILITIES, shown_by
from segment_statsig.testing.meaning import merged_batches
from segment_statsig.testing.runner import compare, load_case, run_case

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "recordings"
CASES = sorted(RECORDINGS.glob("*.json"))


# -- one rule per case --------------------------------------------------------------------------

def test_only_the_timestamp_cases_give_a_call_a_timestamp():
    """Statsig's client SDKs stamp logEvent with the current time: a case that gives its calls a
    timestamp tests that rule, so it says so (requires event-timestamp); no other case does."""
    stamped = {p.stem for p in CASES
               if any("timestamp" in (c.get("args") or {}) for c in load_case(p)["calls"])}
    requiring = {p.stem for p in CASES if "event-timestamp" in (load_case(p).get("requires") or [])}
    assert stamped == requiring and "event_timestamp_ms" in stamped
    times = [e["time"] for r in load_case(RECORDINGS / "event_timestamp_ms.json")["expected"]["requests"]
             for e in r["body"]["events"]]
    assert times == [1714564800000, 1714564801250, 1714564802500, "<TIME>"]  # a +02:00 offset honoured


def test_purge_and_opt_out_are_cases_of_their_own():
    opt_out, purge = (load_case(RECORDINGS / f"{n}.json") for n in ("opt_out", "purge_erases_undelivered"))
    assert "purge" not in {c["method"] for c in opt_out["calls"]} and not opt_out.get("requires")
    assert purge["requires"] == ["purge"]
    sent = [e["eventName"] for r in purge["expected"]["requests"] for e in r["body"]["events"]]
    assert sent == ["segment_track:Delivered Before", "segment_track:After Purge"]


def test_every_required_capability_is_known_and_documented():
    docs = (ROOT / "docs" / "CONFORMANCE.md").read_text(encoding="utf-8")
    for path in CASES:
        assert set(load_case(path).get("requires") or []) <= ALL, path.stem
    for name in CAPABILITIES:
        assert f"`{name}`" in docs, f"docs/CONFORMANCE.md does not list the capability {name}"


def test_ours_declares_every_capability_and_passes_every_case():
    assert adapters.ours.capabilities == ALL
    out = subprocess.run([sys.executable, "-m", "segment_statsig.testing", "verify", str(RECORDINGS)],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert out.stdout.splitlines()[-1] == f"{len(CASES)} passed, 0 failed, 0 skipped"


# -- capabilities -----------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(declared=st.sets(st.sampled_from(sorted(ALL))),
       requires=st.lists(st.sampled_from(sorted(ALL)), unique=True, max_size=4))
def test_a_case_is_skipped_exactly_for_what_the_adapter_lacks(declared, requires):
    ran = []

    def adapter(session):
        ran.append(session.requires)
        return None

    adapter.capabilities = frozenset(declared)
    case = {"name": "c", "requires": requires, "settings": None, "calls": []}
    if set(requires) <= declared:  # runs (and, sending nothing, passes this empty case)
        result = run_case(case, adapter, timeout=2)
        assert result.skipped == [] and ran == [requires]
    else:  # known before the run: never started, the missing ones named in the case's order
        result = run_case(case, adapter, timeout=2)
        assert result.skipped == [n for n in requires if n not in declared] and ran == []


def without(*lacking):
    """Our implementation, declaring all it has but ``lacking``."""
    def run(session):
        adapters.ours(session)
    run.capabilities = ALL - set(lacking)
    return run


lacks_purge = without("purge")


def declares_by_returning(session):
    """A callable that declares by what it returns, after the run: nothing."""
    adapters.ours(session)
    return []


def test_a_skip_names_the_capability_and_does_not_fail_verify(capsys):
    paths = [str(RECORDINGS / f"{n}.json") for n in ("purge_erases_undelivered", "track_renamed")]
    assert main(["verify", "--adapter", "tests.test_conformance_capabilities:lacks_purge", *paths]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "skip purge_erases_undelivered: requires purge", "ok   track_renamed", "1 passed, 0 failed, 1 skipped"]
    assert main(["verify", "--adapter", "tests.test_conformance_capabilities:declares_by_returning", *paths]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 passed, 0 failed, 1 skipped"


def test_a_cmd_adapter_declares_its_capabilities_on_a_stdout_line(tmp_path):
    """Our subprocess adapter prints every capability at setup and passes the timestamp case;
    one that prints none (an older adapter) has that case skipped, not failed."""
    quiet = tmp_path / "quiet_adapter.py"
    quiet.write_text("import io, sys\nfrom segment_statsig.testing import adapters\n"
                     "sys.stdout = io.StringIO()  # declares nothing\nsys.exit(adapters.main_stdin())\n")
    case = str(RECORDINGS / "event_timestamp_ms.json")
    for adapter, last in ((f"cmd:{sys.executable} -m segment_statsig.testing.adapters", "1 passed, 0 failed, 0 skipped"),
                          (f"cmd:{sys.executable} {quiet}", "0 passed, 0 failed, 1 skipped")):
        out = subprocess.run([sys.executable, "-m", "segment_statsig.testing", "verify", "--adapter", adapter, case],
                             capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert out.returncode == 0 and out.stdout.splitlines()[-1] == last, out.stdout + out.stderr


def test_a_case_naming_an_unknown_capability_is_refused_in_one_line(tmp_path, capsys):
    for field, value, says in (("requires", ["purgee"], "purgee"), ("requires", "purge", "purge"),
                               ("batches", "some", "batches")):
        case = tmp_path / "typo.json"
        case.write_text(json.dumps({"name": "typo", field: value, "calls": [{"method": "flush"}]}))
        assert main(["verify", str(case)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and says in err[0], err


# -- batch boundaries count only where the case is about batching ----------------------------------

def one_per_request(session):
    session.options = {**session.options, "destination": {"max_batch_size": 1, "max_burst_batch_size": 1}}
    adapters.ours(session)


def test_batches_are_compared_only_where_the_case_says_exact():
    case = load_case(RECORDINGS / "identify_then_track.json")
    assert "batches" not in case
    assert compare(case, run_case(case, one_per_request)) == []
    exact = {**case, "batches": "exact"}
    assert "requests: expected 1 items, got 2" in compare(exact, run_case(exact, one_per_request))
    renamed = {**case, "expected": json.loads(json.dumps(case["expected"]).replace("After Login", "After Logout"))}
    assert any("eventName" in line for line in compare(renamed, run_case(case, one_per_request)))


def _request(events, status=202, key="<API_KEY>"):
    return {"method": "POST", "endpoint": "log_event", "api_key": key, "status": status,
            "body": {"events": events, "statsigMetadata": {"stableID": "<STABLE_ID>"}}}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 9), min_size=1, max_size=12).flatmap(
    lambda events: st.tuples(st.just(events), st.lists(st.integers(1, len(events)), max_size=len(events)))))
def test_merged_batches_is_the_same_however_the_events_were_cut(events_and_cuts):
    events, cuts = events_and_cuts
    bounds = [0, *sorted(set(cuts)), len(events)]
    batches = [_request(events[a:b]) for a, b in zip(bounds, bounds[1:]) if b > a]
    assert merged_batches(batches) == [_request(events)]
    # what differs apart from the events (a status, the key) is never merged away
    refused = batches + [_request(events, status=400)]
    assert merged_batches(refused) == [_request(events), _request(events, status=400)]
    other_key = batches + [_request(events, key="<SECRET_KEY>")]
    assert merged_batches(other_key)[-1]["api_key"] == "<SECRET_KEY>"


# -- reports ------------------------------------------------------------------------------------------

#: the JUnit schema's structure (Jenkins' junit-10.xsd, what CI reporters read): the attributes
#: each element may have (the first set: those it must have) and the children it may hold
SCHEMA = {
    "testsuites": ({"name", "time", "tests", "failures", "disabled", "errors"}, set(), {"testsuite"}),
    "testsuite": ({"name", "tests", "failures", "errors", "time", "disabled", "skipped", "timestamp", "hostname",
                   "id", "package", "file", "log", "url", "version"}, {"name", "tests"},
                  {"properties", "testcase", "system-out", "system-err"}),
    "testcase": ({"name", "assertions", "time", "classname", "status"}, {"name"},
                 {"skipped", "error", "failure", "system-out", "system-err"}),
    "failure": ({"type", "message"}, set(), set()),
    "skipped": ({"message"}, set(), set()),
    "system-out": (set(), set(), set()),
}


def assert_junit_schema(element):
    allowed, required, children = SCHEMA[element.tag]
    assert required <= set(element.attrib) <= allowed, (element.tag, element.attrib)
    for child in element:
        assert child.tag in children, (element.tag, child.tag)
        assert_junit_schema(child)


@pytest.fixture(scope="module")
def three_verdicts(tmp_path_factory):
    """One case passing, one failing (its expected event renamed), one skipped."""
    folder = tmp_path_factory.mktemp("cases")
    for name in ("track_renamed", "purge_erases_undelivered"):
        (folder / f"{name}.json").write_text((RECORDINGS / f"{name}.json").read_text(encoding="utf-8"))
    text = (RECORDINGS / "screen_renamed.json").read_text(encoding="utf-8")
    head, sep, expected = text.partition('"expected"')
    (folder / "screen_renamed.json").write_text(head + sep + expected.replace("segment_screen:Home", "segment_screen:Hom"))
    xml_path = folder / "report.xml"
    adapter = "tests.test_conformance_capabilities:lacks_purge"
    text_run = subprocess.run([sys.executable, "-m", "segment_statsig.testing", "verify", "--adapter", adapter,
                               "--junit-xml", str(xml_path), str(folder)],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)
    json_run = subprocess.run([sys.executable, "-m", "segment_statsig.testing", "verify", "--adapter", adapter,
                               "--json", str(folder)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    return text_run, xml_path, json_run


def test_junit_xml_has_one_testcase_per_case_with_failures_and_skips(three_verdicts):
    text_run, xml_path, _ = three_verdicts
    assert text_run.returncode == 1 and text_run.stdout.splitlines()[-1] == "1 passed, 1 failed, 1 skipped"
    root = ET.parse(xml_path).getroot()
    assert root.tag == "testsuites"
    assert_junit_schema(root)
    (suite,) = root
    assert [int(suite.get(k)) for k in ("tests", "failures", "errors", "skipped")] == [3, 1, 0, 1]
    assert [int(root.get(k)) for k in ("tests", "failures", "errors")] == [3, 1, 0]
    float(suite.get("time"))
    cases = {case.get("name"): case for case in suite}
    assert set(cases) == {"purge_erases_undelivered", "screen_renamed", "track_renamed"}
    for case in cases.values():
        assert case.get("classname") and float(case.get("time")) >= 0
    assert cases["track_renamed"].find("failure") is None and cases["track_renamed"].find("skipped") is None
    failure = cases["screen_renamed"].find("failure")
    assert failure.get("message").startswith("1 difference: ")
    assert failure.text == ('requests[0].body.events[0].eventName: expected "segment_screen:Hom", '
                            'got "segment_screen:Home"')
    skipped = cases["purge_erases_undelivered"].find("skipped")
    assert skipped.get("message").startswith("requires purge: ")


def test_json_report_for_tools(three_verdicts):
    _, _, json_run = three_verdicts
    assert json_run.returncode == 1
    report = json.loads(json_run.stdout)  # stdout holds the JSON alone
    assert (report["passed"], report["failed"], report["skipped"]) == (1, 1, 1)
    by_name = {c["name"]: c for c in report["cases"]}
    assert by_name["track_renamed"]["status"] == "passed"
    assert by_name["screen_renamed"]["status"] == "failed" and len(by_name["screen_renamed"]["differences"]) == 1
    assert by_name["purge_erases_undelivered"]["requires"] == ["purge"]
    assert "erase" in by_name["purge_erases_undelivered"]["reason"]


# -- the cases of the client-SDK features: overrides, bootstrap, parameter stores, exposure control,
# -- flush policies, on-device evaluation --------------------------------------------------------------

#: case -> what it requires: "gates" for any value, plus what Statsig's client SDKs may lack
FEATURE_CASES = {
    "gate_override_local": ["gates", "overrides"],
    "bootstrap_values": ["gates", "bootstrap"],
    "parameter_store_references": ["gates", "param-stores"],
    "check_without_exposure": ["gates"],
    "manual_gate_exposure": ["gates"],
    "flush_policy_count": ["flush-policy"],
    "on_device_gate": ["gates", "on-device-eval"],
}


def test_each_feature_has_its_case_requiring_what_a_real_sdk_may_lack():
    for name, requires in FEATURE_CASES.items():
        case = load_case(RECORDINGS / f"{name}.json")
        assert case["requires"] == requires, name
    required = {c for p in CASES for c in load_case(p).get("requires") or []}
    assert required == ALL  # every capability has a case that needs it
    assert load_case(RECORDINGS / "flush_policy_count.json")["batches"] == "exact"


def exposures(requests):
    return [(e["eventName"], e["metadata"].get("gate") or e["metadata"].get("config"), e["metadata"]["reason"])
            for r in requests for e in r["body"].get("events", []) if e["eventName"].startswith("statsig::")]


def test_feature_cases_say_what_their_rule_says():
    """Read against GATES.md: the override's reason, bootstrap with no initialize, a static
    parameter logs nothing, a check without exposure counts for nothing, a manual exposure is
    one, on the device no initialize and each user's own rule."""
    def requests(name):
        return load_case(RECORDINGS / f"{name}.json")["expected"]["requests"]

    assert exposures(requests("gate_override_local")) == [
        ("statsig::gate_exposure", "new_checkout", "LocalOverride:Recognized"),
        ("statsig::gate_exposure", "new_checkout", "Network:Recognized")]
    assert [r["path"] for r in requests("bootstrap_values")] == ["/v1/log_event"]
    assert exposures(requests("bootstrap_values")) == [("statsig::gate_exposure", "new_checkout", "Bootstrap:Recognized")]
    assert [x[1] for x in exposures(requests("parameter_store_references"))] == [
        "express_checkout", "limits", "button_colour"]
    assert [x[1] for x in exposures(requests("check_without_exposure"))] == ["new_checkout"]
    assert len(exposures(requests("manual_gate_exposure"))) == 1
    on_device = requests("on_device_gate")
    assert {r["path"] for r in on_device} == {"/v1/log_event"}
    assert [(e["user"]["userID"], e["metadata"]["gateValue"], e["metadata"]["ruleID"])
            for r in on_device for e in r["body"]["events"]] == [("alice", "true", "alice_only"),
                                                                 ("bob", "false", "default")]


@settings(max_examples=6, deadline=None)
@given(n=st.integers(1, 3), k=st.integers(1, 7))
def test_a_count_flush_policy_sends_exact_batches_of_n_without_a_flush(n, k):
    """options.analytics.flush_policies [{"count": n}] and the wait_for_delivered call: each n
    tracked events go as one request on their own; what is left goes at the flush."""
    calls = []
    for i in range(k):
        calls.append({"method": "track", "args": {"event": f"E{i}"}})
        if (i + 1) % n == 0:
            calls.append({"method": "wait_for_delivered", "args": {"events": i + 1}})
    calls.append({"method": "flush"})
    case = {"name": "count", "settings": {"integrations": {"Statsig": {"apiKey": "<API_KEY>"}}},
            "options": {"analytics": {"flush_policies": [{"count": n}]}}, "calls": calls}
    result = run_case(case, adapters.ours, timeout=10)
    assert result.errors == []
    sizes = [len(r["body"]["events"]) for r in result.requests]
    assert sizes == [n] * (k // n) + ([k % n] if k % n else [])


def test_a_flush_policy_the_harness_does_not_know_is_one_error_line():
    case = {"name": "bad", "settings": {"integrations": {"Statsig": {"apiKey": "<API_KEY>"}}},
            "options": {"analytics": {"flush_policies": [{"hourly": True}]}}, "calls": [{"method": "flush"}]}
    (line,) = run_case(case, adapters.ours, timeout=5).errors
    assert "flush policy {'hourly': True}: one of count, frequency, startup, background" in line


def test_every_case_requires_what_its_calls_options_and_settings_need():
    """An adapter lacking what a case uses must see it skipped, never failed: value calls need
    gates, options.consent consent, routing rules filters, a purge call purge..."""
    for path in CASES:
        case = load_case(path)
        assert set(shown_by(case)) <= set(case.get("requires") or []), path.stem
