"""Run one case: start the fakes, inject the case's faults, drive the adapter, and
return the Statsig requests in their recorded (normalised, scrubbed) form, or that the case
was skipped for a capability the adapter lacks."""
from __future__ import annotations

import json
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union

from . import adapters
from .capabilities import missing
from .fake_segment_cdn import FakeSegmentCDN
from .fake_statsig import EVENT_PATHS, INITIALIZE_PATH, FakeStatsig
from .meaning import by_channel, comparable, count_mismatches, events_meaning, meaning, merged_batches
from .recording import Normaliser, SecretLeak, diff, dumps_case, expand_calls, strings_in, substitute

__all__ = ["RunResult", "load_case", "run_case", "configure_values", "compare", "by_channel"]

WINDOW_SLACK_MS = 10 * 60 * 1000  # event times this close to the run are "now" -> <TIME>


Case = Dict[str, Any]


@dataclass
class RunResult:
    requests: List[Dict[str, Any]]
    segment_events: Optional[List[Dict[str, Any]]] = None
    errors: List[str] = field(default_factory=list)  # adapter failures, server-side assertions
    skipped: List[str] = field(default_factory=list)  # capabilities the case requires and the adapter lacks

    def expected_block(self) -> Dict[str, Any]:
        block: Dict[str, Any] = {"requests": self.requests}
        if self.segment_events is not None:
            block["segment_events"] = self.segment_events
        return block


def load_case(path: Union[str, Path]) -> Case:
    with open(path, encoding="utf-8") as f:
        case: Case = json.load(f)
    for key in ("name", "calls"):
        if key not in case:
            raise ValueError(f"{path}: a case needs {key!r}")
    return case


def run_case(case: Case, adapter: adapters.Adapter, timeout: float = 20.0) -> RunResult:
    requires = list(case.get("requires") or [])
    declared = getattr(adapter, "capabilities", None)
    if declared is not None and missing(requires, declared):  # known before the run: do not run it
        return RunResult([], skipped=missing(requires, declared))
    keys = {"<API_KEY>": "client-" + uuid.uuid4().hex, "<SECRET_KEY>": "secret-" + uuid.uuid4().hex,
            "<WRITE_KEY>": "wk" + uuid.uuid4().hex}
    settings = substitute(case.get("settings"), keys)
    cdn = substitute(case.get("cdn"), keys) or {}
    calls = substitute(expand_calls(case["calls"]), keys)
    server = case.get("server") or {}
    write_key = cdn.get("writeKey")
    errors: List[str] = []

    statsig = FakeStatsig(api_keys={keys["<API_KEY>"], keys["<SECRET_KEY>"]})
    segment = FakeSegmentCDN({write_key: cdn.get("settings", 404)} if write_key else None)
    with statsig, segment, tempfile.TemporaryDirectory(prefix="segment-statsig-case-") as storage:
        if server.get("statuses"):
            statsig.respond_with_statuses(server["statuses"], retry_after=server.get("retry_after"))
        for _ in range(int(server.get("drop_connections", 0))):
            statsig.drop_next_connection()
        configure_values(statsig, case.get("statsig_values"))
        if case.get("config_specs") is not None:  # what download_config_specs serves, as written
            statsig.set_config_specs(case["config_specs"])
        session = adapters.Session(
            name=case["name"], calls=calls, settings=settings, statsig_url=statsig.url,
            cdn_url=segment.url, segment_api_url=segment.api_url, api_key=keys["<API_KEY>"],
            write_key=write_key, storage_dir=str(Path(storage) / "app"), options=case.get("options") or {},
            timeout=timeout, requires=requires)
        started = int(time.time() * 1000)
        try:
            returned = adapter(session)
            if returned is not None:  # capabilities declared by the run (a cmd: adapter's line)
                declared = returned
        except Exception as e:  # the implementation under test failed: a finding, not a crash
            declared = getattr(e, "capabilities", None) or declared
            errors.append(f"adapter {getattr(adapter, '__name__', adapter)!s} failed: {type(e).__name__}: {e}")
        lacking = missing(requires, declared or ())
        if lacking:  # whatever it did, the case is not one it can pass
            return RunResult([], skipped=lacking)
        finished = int(time.time() * 1000)
        for fake in (statsig, segment):
            try:
                fake.check_assertions()
            except AssertionError as e:
                errors.append(f"server-side: {e}")
        records = [r for r in statsig.requests if r.path in EVENT_PATHS or r.path == INITIALIZE_PATH]
        batches = segment.batches if write_key else None

    normaliser = Normaliser({real: ph for ph, real in keys.items()},
                            (started - WINDOW_SLACK_MS, finished + WINDOW_SLACK_MS),
                            strings_in([case.get("calls"), case.get("settings"), case.get("cdn")]))
    requests = [normaliser.request(r) for r in records]
    segment_events = None
    if batches is not None:
        segment_events = [_segment_event(e) for b in batches for e in b.get("batch", [])]
        segment_events = normaliser._text_tree(segment_events)
    result = RunResult(requests, segment_events, errors)
    try:  # nothing that holds a key may leave this function
        dumps_case(result.expected_block(), keys.values())
    except SecretLeak as e:
        result.errors.append(str(e))
        result.requests, result.segment_events = [], None
    return result


def configure_values(statsig: FakeStatsig, values: Optional[Dict[str, Any]]) -> None:
    """A case's ``statsig_values``: what the fake's initialize serves, per userID::

        {"gates": {"new_checkout": {"users": {"alice": true}, "default": false}},
         "experiments": {"button_colour": {"users": {"alice": {"group": "Test", "value": {...}}},
                                           "default": {"group": "Control", "value": {...}}}},
         "configs": {"limits": {"default": {"value": {"max": 3}}}},
         "layers": {"checkout": {"default": {"group": "Test", "value": {...},
                                             "allocated_experiment": "copy_exp",
                                             "explicit_parameters": ["title"]}}},
         "param_stores": {"checkout_store": {"headline": {"ref_type": "static", "param_type": "string",
                                                          "value": "Welcome"}}}}

    (parameter stores as ``FakeStatsig.set_param_store`` takes them, the same for every user).
    Each name may also hold ``secondary_exposures`` (layers: ``undelegated_secondary_exposures``).
    """
    if not values:
        return

    def per_user(spec: Dict[str, Any]) -> Callable[[Dict[str, Any]], Any]:
        users, default = spec.get("users") or {}, spec.get("default")
        return lambda user: users.get(user.get("userID"), default)

    def part(pick: Callable[[Dict[str, Any]], Any], key: str) -> Callable[[Dict[str, Any]], Any]:
        return lambda user: (pick(user) or {}).get(key)

    for name, spec in (values.get("gates") or {}).items():
        pick = per_user(spec)
        statsig.set_gate(name, pick, secondary_exposures=spec.get("secondary_exposures"))
    for kind in ("experiments", "configs"):
        for name, spec in (values.get(kind) or {}).items():
            pick = per_user(spec)
            statsig.set_config(name, part(pick, "value"), group_name=part(pick, "group"),
                               rule_id=part(pick, "rule_id"),
                               secondary_exposures=spec.get("secondary_exposures"),
                               is_experiment=kind == "experiments")
    for name, spec in (values.get("layers") or {}).items():
        pick = per_user(spec)
        statsig.set_layer(name, part(pick, "value"), group_name=part(pick, "group"),
                          rule_id=part(pick, "rule_id"),
                          allocated_experiment=part(pick, "allocated_experiment"),
                          explicit_parameters=part(pick, "explicit_parameters"),
                          secondary_exposures=spec.get("secondary_exposures"),
                          undelegated_secondary_exposures=spec.get("undelegated_secondary_exposures"))
    for name, parameters in (values.get("param_stores") or {}).items():
        statsig.set_param_store(name, parameters)


def _segment_event(event: Dict[str, Any]) -> Dict[str, Any]:
    """What a recording keeps of a cloud-leg event: what it is and how it is routed."""
    keep = ("type", "event", "name", "userId", "integrations", "_metadata")
    return {k: event[k] for k in keep if k in event}


def compare(case: Case, result: RunResult, events_only: bool = False) -> List[str]:
    """The differences between a case's expected block and a run, as readable lines, by
    meaning (``meaning.py``): the transport form a request took never makes a difference."""
    expected = case.get("expected")
    if not isinstance(expected, dict) or "requests" not in expected:
        return ["case has no expected requests: run `record` first"]
    lines = list(result.errors)
    if events_only:
        lines += diff(events_meaning(expected["requests"]), events_meaning(result.requests), "events")
    else:
        want, got = comparable(expected["requests"]), comparable(result.requests)
        lines += count_mismatches(got)
        lines += [f"recording: {line}" for line in count_mismatches(want)]
        want, got = [meaning(r) for r in want], [meaning(r) for r in got]
        if case.get("batches") != "exact":  # batch boundaries are no part of this case's rule
            want, got = merged_batches(want), merged_batches(got)
        lines += diff(want, got, "requests")
    if "segment_events" in expected:
        lines += diff(expected["segment_events"], result.segment_events or [], "segment_events")
    return lines
