"""The client controls, before and after: the same script against any checkout's package,
one JSON line of figures (an exception's name where the checkout lacks the control).

    git worktree add /tmp/old-controls fd185ce
    PYTHONPATH=/tmp/old-controls/plugin python tests/benchmarks/controls_compare.py
    PYTHONPATH=plugin python tests/benchmarks/controls_compare.py
"""
import json, statistics, sys, tempfile, time, tracemalloc
from segment_statsig import Analytics, StatsigDestination
from segment_statsig.testing import FakeStatsig
KEY = "client-measure"
out = {}

def client(fake, **dest):
    a = Analytics(storage_dir=tempfile.mkdtemp(), flush_interval=0.05, settings={"integrations": {"Statsig": {"apiKey": KEY}}})
    d = a.add(StatsigDestination(api_url=fake.url, retry_base=0.02, retry_max=0.2, **dest))
    return a, d

def case(name, fn):
    try:
        out[name] = fn()
    except Exception as e:
        out[name] = f"exception {type(e).__name__}"

with FakeStatsig(api_keys={KEY}) as fake:
    fake.set_gate("g", lambda u: u.get("userID") == "bob")
    # 1. check_gate cost (µs, median of 5 x 20,000), exposures deduplicated
    a, d = client(fake); a.identify("alice"); d.wait_for_values(5); d.check_gate("g")
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(20000):
            d.check_gate("g")
        runs.append((time.perf_counter() - t) / 20000 * 1e6)
    out["check_gate_us"] = round(statistics.median(runs), 2)
    tracemalloc.start(); [d.check_gate("g") for _ in range(10000)]; cur, peak = tracemalloc.get_traced_memory(); tracemalloc.stop()
    out["check_gate_10k_peak_kb"] = round(peak / 1024, 1)
    # 2. user switch: the check right after identify("bob") (after prefetch where there is one)
    def switch():
        try:
            d.prefetch_values(user_id="bob")
            deadline = time.monotonic() + 5
            while not any((r.body.get("user") or {}).get("userID") == "bob" for r in fake.initialize_requests) and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.1)
            pre = "prefetched"
        except TypeError:
            pre = "no prefetch for a user"
        a.identify("bob")
        first = d.check_gate("g")
        return f"{pre}: first check {first} ({d.values_reason})"
    case("switch_first_check", switch)
    # 3. checks without exposure: exposures logged
    def quiet():
        d.flush_exposures(5); a.flush(timeout=5)
        n = len([e for e in fake.events if e["eventName"].startswith("statsig::")])
        fake.set_gate("quiet", True)
        d.refresh_values() if hasattr(d, "refresh_values") else a.identify("bob", {"x": 1})
        d.wait_for_values(5)
        for _ in range(10):
            d.check_gate("quiet", log_exposure=False)
        d.flush_exposures(5); a.flush(timeout=5)
        return len([e for e in fake.events if e["eventName"].startswith("statsig::")]) - n
    case("exposures_of_10_unexposed_checks", quiet)
    a.shutdown(2)
    # 4. bootstrap: initialize requests for the bootstrapped user
    def boot():
        a, d = client(fake); n = len(fake.initialize_requests)
        try:
            d.bootstrap(fake.evaluate_for({"userID": "carol"}), user_id="carol")
            a.identify("carol"); v = d.check_gate("g"); time.sleep(0.3)
            return f"{len(fake.initialize_requests) - n} requests, reason {d.get_feature_gate('g').details['reason']}"
        finally:
            a.shutdown(2)
    case("bootstrap", boot)
    # 5. private trait in events
    def private():
        a, d = client(fake, private_traits=["email"])
        try:
            a.identify("u", {"email": "x@secret.example"}); d.wait_for_values(5); d.check_gate("g"); a.track("T")
            d.flush_exposures(5); a.flush(timeout=5)
            return sum("x@secret.example" in json.dumps(e["user"]) for e in fake.events)
        finally:
            a.shutdown(2)
    case("events_with_private_trait", private)
    # 6. override a gate for QA
    def override():
        a, d = client(fake)
        try:
            d.override_gate("g", True); return f"{d.check_gate('g')} ({d.get_feature_gate('g').details['reason']})"
        finally:
            a.shutdown(2)
    case("override_gate", override)
    # 7. a listener that raises, 100 tracks: events lost
    def listener():
        with FakeStatsig(api_keys={KEY}) as f2:
            a, d = client(f2)
            try:
                d.on("logs_flushed", lambda e: 1 / 0)
                for i in range(100):
                    a.track(f"E{i}")
                a.flush(timeout=10)
                return 100 - len(f2.events)
            finally:
                a.shutdown(2)
    case("events_lost_with_a_raising_listener", listener)
    # 8. refresh on a 500: values kept
    def refresh():
        a, d = client(fake)
        try:
            a.identify("bob"); d.wait_for_values(5)
            fake.answer_next_initialize("oops", status=500, times=4)
            d.refresh_values(); time.sleep(1.0)
            return f"{d.check_gate('g')} ({d.values_reason})"
        finally:
            a.shutdown(2)
    case("gate_after_failed_refresh", refresh)
print(json.dumps(out))
