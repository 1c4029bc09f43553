"""Measures the hostile-input cases of parsing (damaged values caches, JSON nested 100,000
levels deep in each reader, costly glob filters, initialize replies with fields of the wrong
type) on two trees of the package side by side, each case in a fresh process:

    python tests/parse_hardening_cases.py OLD_TREE/plugin NEW_TREE/plugin

prints one markdown row per case: case | before | after.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time

KEY = "client-test-key-0123456789"
WRITE_KEY = "write-key-cases"


def _wait(condition, timeout):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def _client(fake, store, settings=None, **options):
    from segment_statsig import Analytics, StatsigDestination

    analytics = Analytics(storage_dir=store, settings=settings or {"integrations": {"Statsig": {"apiKey": KEY}}},
                          flush_interval=0.05, **options)
    dest = analytics.add(StatsigDestination(api_url=fake.url, retry_base=0.02, retry_max=0.2))
    return analytics, dest


def damaged_cache(fake, damage):
    from segment_statsig.statsig.initialize_reply import djb2  # noqa: F401 (the fake hashes names)

    fake.set_gate("g", True)
    store = tempfile.mkdtemp()
    analytics, dest = _client(fake, store)
    dest.wait_for_values(5)
    analytics.shutdown(2)
    [name] = [n for n in os.listdir(store) if n.startswith("statsig-values-")]
    with open(os.path.join(store, name), "w") as f:
        f.write(damage)
    asked = len(fake.initialize_requests)
    analytics, dest = _client(fake, store)
    dest.wait_for_values(3)
    gate = dest.get_feature_gate("g")
    result = f"{len(fake.initialize_requests) - asked} request, {gate.evaluation_reason}, gate {gate.value}"
    analytics.shutdown(2)
    return result


def cdn_deep(fake):
    from segment_statsig import Analytics, StatsigDestination
    from segment_statsig.testing import FakeSegmentCDN
    from pytest_httpserver import HTTPServer
    from werkzeug import Response

    died = []
    threading.excepthook = lambda args: died.append(args.exc_type.__name__)
    texts = [json.dumps({"integrations": {"Statsig": {"apiKey": KEY}}}), "[" * 100_000]
    server = HTTPServer()
    server.expect_request(f"/v1/projects/{WRITE_KEY}/settings").respond_with_handler(
        lambda request: Response(texts[0], content_type="application/json"))
    server.start()
    cloud = FakeSegmentCDN()
    cloud.start()
    store = tempfile.mkdtemp()
    try:
        for launch in range(2):
            analytics = Analytics(WRITE_KEY, storage_dir=store, cdn_url=server.url_for("").rstrip("/"),
                                  api_url=cloud.api_url, flush_interval=0.05)
            analytics.add(StatsigDestination(api_url=fake.url))
            analytics.track(f"launch {launch}")
            analytics.flush(timeout=5)
            _wait(lambda: len(fake.events) > launch, 5)
            analytics.shutdown(2)
            texts.pop(0)
        return f"{len(died)} thread died ({', '.join(died) or '-'}), {len(fake.events)} of 2 delivered"
    finally:
        server.stop()
        cloud.stop()


def journal_deep(fake):
    analytics, dest = _client(fake, tempfile.mkdtemp())
    analytics.track("before")
    analytics.journal.append(b"[" * 100_000 + b"\n")
    for i in range(20):
        analytics.track(f"after {i}")
    _wait(lambda: len(fake.events) >= 21, 10)
    return f"{len(fake.events)} of 21 delivered in 10 s"


def _filtered(fake, pattern, blob):
    ir = json.dumps(["match", "properties.blob", {"value": pattern}])
    rule = {"destinationName": "Statsig", "matchers": [{"type": "fql", "ir": ir}], "transformers": [[{"type": "drop"}]]}
    settings = {"integrations": {"Statsig": {"apiKey": KEY}}, "middlewareSettings": {"routingRules": [rule]}}
    analytics, dest = _client(fake, tempfile.mkdtemp(), settings)
    started = time.monotonic()
    analytics.track("big", {"blob": blob})
    for i in range(20):
        analytics.track(f"small {i}", {"blob": "a" * 100})
    _wait(lambda: len(fake.events) + dest.stats.snapshot()["quarantined"] >= 21, 8)
    took = time.monotonic() - started
    quarantined = dest.stats.snapshot()["quarantined"]
    return f"{len(fake.events)} of 21 delivered ({took:.1f} s), {quarantined} quarantined"


def glob_1mb(fake):
    return _filtered(fake, "*[b]", "a" * 1_000_000)


def glob_costly(fake):
    return _filtered(fake, "*?" + "a" * 200 + "b*", "a" * 100_000)


def glob_times(fake):
    from segment_statsig.filters.globmatch import glob_matches

    out = []
    for size in (100_000, 200_000, 400_000):
        started = time.perf_counter()
        glob_matches("*[b]x*", "a" * size)
        out.append(f"{size // 1000} KB {time.perf_counter() - started:.3f} s")
    return ", ".join(out)


def reply_fields(fake):
    from segment_statsig.statsig.initialize_reply import djb2

    fake.answer_next_initialize({
        "hash_used": "djb2", "has_updates": True, "time": 5,
        "feature_gates": {djb2("g"): {"value": True, "rule_id": ["a"], "secondary_exposures": 5}},
        "dynamic_configs": {djb2("c"): {"value": {"k": 1}, "rule_id": {"o": 1}}},
        "layer_configs": {djb2("l"): {"value": {"k": 1}, "explicit_parameters": 7}}})
    analytics, dest = _client(fake, tempfile.mkdtemp())
    dest.wait_for_values(5)
    raised = []
    for check in (lambda: dest.check_gate("g"), lambda: dest.get_config("c"), lambda: dest.get_experiment("c"),
                  lambda: dest.get_layer("l").get("k")):
        try:
            check()
        except Exception as error:
            raised.append(type(error).__name__)
    analytics.shutdown(2)
    return f"{len(raised)} of 4 checks raised ({', '.join(sorted(set(raised))) or '-'})"


def reply_deep(fake):
    fake.set_gate("g", True)
    analytics, dest = _client(fake, tempfile.mkdtemp())
    dest.wait_for_values(5)
    fake.answer_next_initialize("[" * 100_000)
    analytics.identify(None, {"again": True})
    _wait(lambda: dest.values_error, 5)
    result = f"gate {dest.check_gate('g')}, error: {(dest.values_error or '-')[:45]}"
    analytics.shutdown(2)
    return result


CASES = {
    "values cache `[]`": lambda fake: damaged_cache(fake, "[]"),
    "values cache `null`": lambda fake: damaged_cache(fake, "null"),
    "values cache `5`": lambda fake: damaged_cache(fake, "5"),
    "values cache 100,000 `[`": lambda fake: damaged_cache(fake, "[" * 100_000),
    "CDN settings 100,000 `[`, then good": cdn_deep,
    "journal line 100,000 `[` among 21 calls": journal_deep,
    "initialize reply 100,000 `[`": reply_deep,
    "rule_id list/object, secondary_exposures 5, explicit_parameters 7": reply_fields,
    "match() alone, `*[b]x*`": glob_times,
    "filter `*[b]` on a 1 MB property + 20 events": glob_1mb,
    "filter `*?a{200}b*` on 100 KB + 20 events": glob_costly,
}


def run_case(name):
    from segment_statsig.testing import FakeStatsig

    with FakeStatsig() as fake:
        print(CASES[name](fake), flush=True)
    os._exit(0)  # a filter still spinning in a daemon thread (the old code) must not hold the exit


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--case":
        run_case(sys.argv[2])
    old, new = sys.argv[1:3]
    print("| case | before | after |\n|---|---|---|")
    for name in CASES:
        cells = []
        for tree in (old, new):
            env = {**os.environ, "PYTHONPATH": tree}
            try:
                done = subprocess.run([sys.executable, __file__, "--case", name], env=env, capture_output=True,
                                      text=True, timeout=120)
                lines = done.stdout.strip().splitlines()
                cells.append(lines[-1] if lines else f"crashed: {done.stderr.strip().splitlines()[-1:]}")
            except subprocess.TimeoutExpired:
                cells.append("no answer in 120 s")
        print(f"| {name} | {cells[0]} | {cells[1]} |", flush=True)


if __name__ == "__main__":
    main()
