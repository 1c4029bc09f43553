"""What the parent measures: each measurement in a fresh child process (child.py) against its own sink (server.py).

The bursts and the phone pace run in rounds, the libraries taking turns (runner.py);
median_round() keeps a burst's median round, pool_phone() pools the phone-pace rounds.
Import time is measured with `python -X importtime` in a fresh process.
"""

from __future__ import annotations

import json
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from .process_stats import summarize_ns
from .server import SinkServer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# What the import rows time (the table), and the notes' extra statements.
IMPORT_STMTS = {
    "ours": "import segment_statsig",
    "segment": "import segment.analytics",
    "statsig": "import statsig",
}
EXTRA_IMPORTS = {
    "ours_names": "from segment_statsig import Analytics, StatsigDestination",
    "requests": "import requests",
}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def child_env():
    env = dict(os.environ)
    extra = [os.path.join(REPO, "plugin"), REPO]
    if env.get("PYTHONPATH"):
        extra.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(extra)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    # Keep every library off the internet even if it ignores its URL options:
    # a proxy on a refused loopback port makes such a request fail at once.
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["HTTP_PROXY"] = env["HTTPS_PROXY"] = env["http_proxy"] = env["https_proxy"] = "http://127.0.0.1:9"
    return env


def _parse_result(stdout: str, stderr: str, rc):
    for line in reversed(stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"ok": False, "error": f"no result (rc={rc}): {stderr.strip()[-500:]}"}


def run_child(spec: dict, timeout: float) -> dict:
    cmd = [sys.executable, "-m", "tests.benchmarks.child", json.dumps(spec)]
    try:
        p = subprocess.run(cmd, cwd=REPO, env=child_env(), capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout}s"}
    res = _parse_result(p.stdout, p.stderr, p.returncode)
    if not res.get("ok"):
        log(f"  ! {spec['kind']}/{spec.get('lib')}: {res.get('error')}")
        if res.get("traceback"):
            log(res["traceback"])
    return res


def wait_quiet(server: SinkServer, expected: int, quiet: float, deadline: float):
    """Wait until the sink has `expected` events, or nothing arrived for `quiet` s."""
    while time.time() < deadline:
        snap = server.snapshot()
        if snap["events"] >= expected:
            return snap
        last = snap["last_request_t"] or 0
        if time.time() - last > quiet:
            return snap
        time.sleep(0.02)
    return server.snapshot()


def measure_track_cost(lib, cfg, mode):
    with SinkServer(mode=mode) as srv, tempfile.TemporaryDirectory() as tmp:
        spec = {"kind": "track_cost", "lib": lib, "url": srv.url, "tmp": tmp,
                "n": cfg["track_n"], "warmup": cfg["warmup"], "pace_s": cfg["pace_s"]}
        res = run_child(spec, timeout=cfg["child_timeout"])
        res["server"] = srv.snapshot()
        return res


def big_queue_options(lib, n):
    """Options that let each library hold a whole burst of n (all else default)."""
    if lib == "ours":
        return {"dest": {"max_queue_events": n * 2 + 1000}}
    if lib == "segment":
        return {"client": {"max_queue_size": n * 2 + 1000}}
    if lib == "statsig":  # its retry queue holds event_queue_size-sized batches
        return {"options": {"retry_queue_size": n // 100 + 10}}
    return {}


def measure_e2e(lib, cfg, big=False):
    n = cfg["e2e_n"]
    with SinkServer(mode="ok") as srv, tempfile.TemporaryDirectory() as tmp:
        spec = {"kind": "e2e", "lib": lib, "url": srv.url, "tmp": tmp, "n": n,
                "drain_timeout": cfg["e2e_deadline"],
                "options": big_queue_options(lib, n) if big else {}}
        res = run_child(spec, timeout=cfg["e2e_deadline"] + 60)
        snap = wait_quiet(srv, n, quiet=cfg["quiet_s"], deadline=time.time() + cfg["e2e_deadline"])
    res["server"] = snap
    if res.get("ok"):
        delivered = snap["events"]
        res["delivered"] = delivered
        res["lost"] = n - delivered
        if delivered and snap["last_event_t"]:
            secs = max(1e-6, snap["last_event_t"] - res["t0"])
            res["seconds"] = secs
            res["rate"] = delivered / secs
    return res


def median_round(results):
    """The round with the median rate, carrying every round's rate and the worst loss."""
    good = [r for r in results if r.get("ok") and r.get("rate")]
    if not good:
        return results[-1]
    good.sort(key=lambda r: r["rate"])
    chosen = dict(good[(len(good) - 1) // 2])
    chosen["round_rates"] = [r.get("rate") for r in results]
    chosen["lost"] = max(r.get("lost", 0) for r in good)
    return chosen


def measure_rss(lib, cfg):
    opts = big_queue_options(lib, cfg["rss_n"]) if lib != "statsig" else {}
    with SinkServer(mode="hang") as srv, tempfile.TemporaryDirectory() as tmp:
        spec = {"kind": "rss", "lib": lib, "url": srv.url, "tmp": tmp, "n": cfg["rss_n"],
                "options": opts, "settle_s": cfg["rss_settle_s"]}
        return run_child(spec, timeout=cfg["child_timeout"])


def measure_durability(lib, cfg):
    """Child tracks as fast as it can; SIGKILL mid-stream; (ours) restart delivers."""
    with SinkServer(mode="ok", record_ids=True) as srv, tempfile.TemporaryDirectory() as tmp:
        store = os.path.join(tmp, "store")
        os.makedirs(store)
        counter = os.path.join(tmp, "counter")
        with open(counter, "wb") as f:
            f.write(b"\0" * 8)
        spec = {"kind": "durable_track", "lib": lib, "url": srv.url, "tmp": store,
                "counter": counter, "n": cfg["dur_kill_at"] * 50}
        cmd = [sys.executable, "-m", "tests.benchmarks.child", json.dumps(spec)]
        p = subprocess.Popen(cmd, cwd=REPO, env=child_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        out = {"ok": True}
        try:
            r, _, _ = select.select([p.stdout], [], [], cfg["child_timeout"])
            line = p.stdout.readline() if r else ""
            if not line.startswith("READY"):
                raise RuntimeError(f"child not ready: {line!r} {p.stderr.read()[-500:] if p.poll() is not None else ''}")
            deadline = time.time() + cfg["child_timeout"]
            returned = 0
            while time.time() < deadline:
                with open(counter, "rb") as f:
                    returned = int.from_bytes(f.read(8), "little")
                if returned >= cfg["dur_kill_at"]:
                    break
                time.sleep(0.001)
            os.kill(p.pid, signal.SIGKILL)
            p.wait(10)
            with open(counter, "rb") as f:
                returned = int.from_bytes(f.read(8), "little")
            out["returned"] = returned
            wait_quiet(srv, returned, quiet=cfg["quiet_s"], deadline=time.time() + 10)
            out["delivered_before_kill"] = len({i for i in srv.ids if 0 <= i < returned})
            if lib == "ours":
                spec2 = {"kind": "durable_restart", "lib": lib, "url": srv.url, "tmp": store,
                         "drain_timeout": cfg["dur_restart_timeout"]}
                res2 = run_child(spec2, timeout=cfg["dur_restart_timeout"] + 60)
                out["restart"] = res2
                if not res2.get("ok"):
                    out["ok"] = False
                    out["error"] = "restart: " + str(res2.get("error"))
                wait_quiet(srv, returned, quiet=cfg["quiet_s"], deadline=time.time() + 10)
        except Exception as e:  # report it in the table
            out = {"ok": False, "error": repr(e)}
            if p.poll() is None:
                p.kill()
        finally:
            if p.poll() is None:
                p.kill()
            for s in (p.stdout, p.stderr):
                s.close()
        ids = list(srv.ids)
    if out.get("ok"):
        returned = out["returned"]
        got = {i for i in ids if 0 <= i < returned}
        out["delivered"] = len(got)
        out["lost"] = returned - len(got)
        out["beyond_count"] = len({i for i in ids if i >= returned})
        out["duplicates"] = len(ids) - len(set(ids))
    return out


def measure_phone(lib, cfg):
    """A phone's pace (tests/benchmarks/PHONE_PACE.md): `phone_rate` calls a second for
    `phone_paced_s`, `phone_idle_s` of nothing, then the library's own flush. The sink
    stamps each event's arrival; the child each call's return."""
    with SinkServer(mode="ok", record_ids=True) as srv, tempfile.TemporaryDirectory() as tmp:
        spec = {"kind": "phone_pace", "lib": lib, "url": srv.url, "tmp": tmp,
                "rate": cfg["phone_rate"], "paced_s": cfg["phone_paced_s"], "idle_s": cfg["phone_idle_s"],
                "warmup": cfg["phone_warmup"], "settle_s": cfg["phone_settle_s"],
                "drain_timeout": cfg["e2e_deadline"]}
        budget = cfg["phone_paced_s"] + cfg["phone_idle_s"] + cfg["e2e_deadline"] * 2 + 60
        res = run_child(spec, timeout=budget)
        if res.get("ok"):
            wait_quiet(srv, 0, quiet=cfg["quiet_s"], deadline=time.time() + cfg["quiet_s"] * 2)
        with srv._lock:
            id_times = list(srv.id_times)
            request_log = list(srv.request_log)
            connection_log = list(srv.connection_log)
    if not res.get("ok"):
        return res
    first = {}
    for i, t in id_times:
        if 0 <= i < res["n"] and i not in first:
            first[i] = t
    returned = res.pop("returned")
    res["latencies"] = [(first[i] - returned[i], first[i] >= res["t_drain"]) if i in first else None
                        for i in range(res["n"])]
    window = [(t, path, ev) for t, path, ev in request_log if t >= res["t_paced"]]
    res["event_requests"] = sum(1 for _, _, ev in window if ev)
    res["idle_event_requests"] = sum(1 for t, _, ev in window if ev and res["t_idle"] <= t < res["t_drain"])
    paths = {}
    for _, path, _ in window:
        paths[path] = paths.get(path, 0) + 1
    res["paths"] = paths
    res["connections"] = sum(1 for t in connection_log if t >= res["t_paced"])
    return res


def pool_phone(results):
    """Every round of one library pooled: sums of CPU, switches and events, all latencies."""
    good = [r for r in results if r.get("ok")]
    if not good:
        return results[-1] if results else {"ok": False, "error": "no rounds"}
    out = {"ok": True, "rounds": good, "n": sum(r["n"] for r in good)}
    for phase in ("paced", "idle", "drain"):
        out[phase] = {k: sum(r[phase][k] for r in good) for k in ("seconds", "cpu_us", "nvcsw", "nivcsw", "main_nvcsw")}
    out["event_requests"] = sum(r["event_requests"] for r in good)
    out["idle_event_requests"] = sum(r["idle_event_requests"] for r in good)
    out["latencies"] = [x for r in good for x in r["latencies"]]
    out["cost"] = summarize_ns([x for r in good for x in r.pop("cost_ns")])
    return out


def parse_importtime(stderr: str):
    """{top-level module: cumulative µs} from `python -X importtime` output."""
    top = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:"):].split("|")
        if len(parts) != 3:
            continue
        name = parts[2]
        try:
            cum = int(parts[1])
        except ValueError:
            continue  # header line
        if name.startswith(" ") and not name.startswith("  "):
            top[name.strip()] = top.get(name.strip(), 0) + cum
    return top


def _importtime_run(code: str) -> dict:
    p = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd="/",
                       env=child_env(), capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "failed")
    return parse_importtime(p.stderr)


def measure_import(code: str, runs: int) -> dict:
    try:
        base = set(_importtime_run("pass"))
        totals = []
        for _ in range(runs):
            top = _importtime_run(code)
            totals.append(sum(v for k, v in top.items() if k not in base))
        return {"ok": True, "runs_us": totals, "median_us": statistics.median(totals)}
    except Exception as e:
        return {"ok": False, "error": repr(e)}
