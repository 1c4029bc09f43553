"""Where ours spends its CPU and wake-ups at a phone's pace (see PHONE_PACE.md).

    python -m tests.benchmarks.phone_profile                      # per thread, per cause
    python -m tests.benchmarks.phone_profile --cprofile           # + cProfile of each worker
    python -m tests.benchmarks.phone_profile --plain              # per thread only, no probes
    python -m tests.benchmarks.phone_profile --compare main=plugin proto=/tmp/proto/plugin --rounds 3

Each run is a fresh child process (this module with --child) tracking `--rate` calls a
second for `--seconds` against a loopback sink in the parent, then the library's flush,
like the phone-pace rows of the benchmark. Per thread: CPU from schedstat, voluntary
context switches ("wake-ups") from /proc/self/task/*/status.

Probes (not with --plain) wrap the calls where the time and the wake-ups go: each
records, per thread, its calls, the thread's CPU (thread_time) and voluntary switches
(getrusage RUSAGE_THREAD) inside it, less those of probes nested in it, so the causes
of a thread add up to its total; "(outside any probe)" is the rest. A probe costs ~2 µs
of CPU per call itself, which lands in its own line.

--compare runs ours from several source trees (a scratch copy with a design change,
say), alternately, and prints CPU and wake-ups per event by thread for each: the gain
of a change measured side by side. The scenario, sink and flush are the benchmark's.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from .measure import REPO, child_env
from .server import SinkServer

# (label, module, attribute path): wrapped in the child before the client is made. A module
# may be given as "new|old" (the package's layout moved: storage/, delivery/).
PROBES = [
    # the caller's thread
    ("track() total", "segment_statsig.analytics.client", "Analytics.track"),
    ("journal append", "segment_statsig.storage.journal|segment_statsig.analytics.journal", "Journal.append"),
    ("nudge (wake the timeline worker)", "segment_statsig.analytics.worker", "TimelineWorker.nudge"),
    # any thread
    ("Event.wait (woken, or its timeout)", "threading", "Event.wait"),
    ("time.sleep (main: the pacing loop; timeline: COALESCE)", "time", "sleep"),
    ("flush(): waiting for the timeline", "segment_statsig.analytics.worker", "TimelineWorker.wait_processed"),
    ("flush(): waiting for delivery", "segment_statsig.delivery.worker|segment_statsig.analytics.delivery", "Delivery.wait_idle"),
    # the timeline worker
    ("timeline: one pass (_drain)", "segment_statsig.analytics.worker", "TimelineWorker._drain"),
    ("timeline: plugins + mapping (Timeline.process)", "segment_statsig.analytics.timeline", "Timeline.process"),
    ("timeline: journal lines -> events (to_event)", "segment_statsig.analytics.worker", "to_event"),
    ("SQLite insert transaction (put_many)", "segment_statsig.storage.queue|segment_statsig.analytics.queue", "SqliteQueue.put_many"),
    ("journal mark_done (zero + pwrite marker)", "segment_statsig.storage.journal|segment_statsig.analytics.journal", "Journal.mark_done"),
    ("committed() -> delivery.queue_grew", "segment_statsig.delivery.queued_destination|segment_statsig.analytics.queued_destination", "QueuedDestination.committed"),
    # the delivery worker
    ("delivery: _send_all", "segment_statsig.delivery.worker|segment_statsig.analytics.delivery", "Delivery._send_all"),
    ("SQLite peek (SELECT batch)", "segment_statsig.storage.queue|segment_statsig.analytics.queue", "SqliteQueue.peek"),
    ("SQLite remove (DELETE batch)", "segment_statsig.storage.queue|segment_statsig.analytics.queue", "SqliteQueue.remove"),
    ("build body (StatsigDestination.send)", "segment_statsig.statsig.destination", "StatsigDestination.send"),
    ("gzip.compress", "gzip", "compress"),
    ("HTTP round trip (urllib3 urlopen)", "urllib3.connectionpool", "HTTPConnectionPool.urlopen"),
    ("delivery listeners/stats (_notify)", "segment_statsig.delivery.queued_destination|segment_statsig.analytics.queued_destination", "QueuedDestination._notify"),
]


# -- the child ---------------------------------------------------------------------

def _install_probes(acc):
    """Wrap every PROBES entry; acc[(thread name, label)] = [calls, cpu ns, vol]."""
    import importlib
    import resource
    import threading

    local = threading.local()
    thread_time_ns = time.thread_time_ns
    getrusage, RUSAGE_THREAD = resource.getrusage, resource.RUSAGE_THREAD
    current = threading.current_thread
    main_ident = threading.main_thread().ident

    def make(label, fn):
        def probe(*a, **k):
            stack = getattr(local, "stack", None)
            if stack is None:
                stack = local.stack = []
            frame = [0, 0]  # nested probes' cpu, vol
            stack.append(frame)
            c0, v0 = thread_time_ns(), getrusage(RUSAGE_THREAD).ru_nvcsw
            try:
                return fn(*a, **k)
            finally:
                c1, v1 = thread_time_ns(), getrusage(RUSAGE_THREAD).ru_nvcsw
                stack.pop()
                cpu, vol = c1 - c0, v1 - v0
                t = current()
                key = ("main" if t.ident == main_ident else t.name, label)
                e = acc.get(key)
                if e is None:
                    e = acc[key] = [0, 0, 0]
                e[0] += 1
                e[1] += cpu - frame[0]
                e[2] += vol - frame[1]
                if stack:
                    stack[-1][0] += cpu
                    stack[-1][1] += vol
        probe.__wrapped__ = fn
        return probe

    for label, modnames, path in PROBES:
        mod = None
        for modname in modnames.split("|"):
            try:
                mod = importlib.import_module(modname)
                break
            except ImportError:
                continue
        if mod is None:
            continue
        owner, _, attr = path.rpartition(".")
        target = mod
        for part in filter(None, owner.split(".")):
            target = getattr(target, part)
        fn = getattr(target, attr, None)
        if fn is None:
            continue
        setattr(target, attr, make(label, fn))
        if modname != "time" and not owner:  # a module function: rebind where it was imported by name
            for other in list(sys.modules.values()):
                if getattr(other, "__name__", "").startswith("segment_statsig") and getattr(other, attr, None) is fn:
                    setattr(other, attr, getattr(target, attr))


def _install_cprofile(profiles, measuring):
    """cProfile (timed by the thread's CPU clock) around each timeline pass, each
    delivery round and each track() call, while measuring[0] is set; one profile per
    place, enabled and disabled on the thread that runs it."""
    import cProfile

    from segment_statsig.analytics import client, worker
    try:
        from segment_statsig.delivery import worker as delivery
    except ImportError:  # the layout before storage/ and delivery/
        from segment_statsig.analytics import delivery

    def wrap(cls, attr, name):
        fn = getattr(cls, attr)
        prof = cProfile.Profile(time.thread_time)
        profiles.append((name, prof))

        def profiled(*a, **k):
            if not measuring[0]:
                return fn(*a, **k)
            prof.enable()
            try:
                return fn(*a, **k)
            finally:
                prof.disable()
        setattr(cls, attr, profiled)

    wrap(worker.TimelineWorker, "_drain", "timeline worker, each pass (_drain)")
    wrap(delivery.Delivery, "_send_all", "delivery worker, each round of sends (_send_all)")
    wrap(client.Analytics, "track", "caller's thread, track()")


def child_main(spec):
    from .child import paced_calls, warm_up
    from .libraries import Lib
    from .process_stats import process_snapshot, snapshot_delta, summarize_ns

    acc, profiles, measuring = {}, [], [False]
    if spec.get("probes"):
        _install_probes(acc)
    if spec.get("cprofile"):
        _install_cprofile(profiles, measuring)
    lib = Lib("ours", spec["url"], spec["tmp"])
    import segment_statsig
    rate, n = spec["rate"], int(round(spec["rate"] * spec["seconds"]))
    warm_up(lib, rate, spec.get("warmup", 10), 30.0, 1.0)
    acc.clear()
    measuring[0] = True
    s0 = process_snapshot()
    samples, _ = paced_calls(lib.track, n, rate)
    s1 = process_snapshot()
    paced_acc = {f"{k[0]}\t{k[1]}": list(v) for k, v in acc.items()}
    acc.clear()
    lib.flush(30.0)
    s2 = process_snapshot()
    measuring[0] = False
    drain_acc = {f"{k[0]}\t{k[1]}": list(v) for k, v in acc.items()}
    out = {"n": n, "plugin": os.path.dirname(os.path.dirname(segment_statsig.__file__)),
           "paced": snapshot_delta(s0, s1), "drain": snapshot_delta(s1, s2),
           "probes_paced": paced_acc, "probes_drain": drain_acc, "cost": summarize_ns(samples),
           "requests": lib.dest.stats.snapshot()["requests"]}
    if profiles:
        import pstats

        texts = {}
        for name, p in profiles:
            st = pstats.Stats(p).stats  # {(file, line, func): (primitive calls, calls, tottime, cumtime, callers)}
            rows = sorted(st.items(), key=lambda kv: -kv[1][2])[:spec.get("cprofile_lines", 25)]
            total = sum(v[2] for v in st.values())
            lines = [f"{total * 1e6 / n:8.1f} µs/event in all (profiled: cProfile's own cost inflates this)",
                     f"{'calls/ev':>8s} {'self µs/ev':>10s} {'cum µs/ev':>10s}  function"]
            for (fname, line, func), (_, calls, tt, ct, _) in rows:
                where = f"{os.path.basename(fname)}:{line}({func})" if line else func
                lines.append(f"{calls / n:8.2f} {tt * 1e6 / n:10.1f} {ct * 1e6 / n:10.1f}  {where}")
            texts[name] = "\n".join(lines)
        out["cprofile"] = texts
    return out


# -- the parent --------------------------------------------------------------------

def run_one(plugin_path, args, probes):
    env = child_env()
    if plugin_path:
        env["PYTHONPATH"] = os.pathsep.join([os.path.abspath(plugin_path), env["PYTHONPATH"]])
    with SinkServer(mode="ok") as srv, tempfile.TemporaryDirectory() as tmp:
        spec = {"url": srv.url, "tmp": tmp, "rate": args.rate, "seconds": args.seconds,
                "probes": probes, "cprofile": args.cprofile}
        p = subprocess.run([sys.executable, "-m", "tests.benchmarks.phone_profile", "--child", json.dumps(spec)],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=args.seconds + 120)
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"child failed (rc={p.returncode}): {p.stderr[-2000:]}")


def by_thread(res, phases=("paced", "drain")):
    out = {}
    for ph in phases:
        for t in res[ph]["threads"].values():
            e = out.setdefault(t["name"], [0.0, 0])
            e[0] += t["cpu_us"]
            e[1] += t["vol"]
    return out


def report(res):
    n = res["n"]
    threads = by_thread(res)
    total_cpu = sum(r["cpu_us"] for r in (res["paced"], res["drain"]))
    total_vol = sum(r["nvcsw"] for r in (res["paced"], res["drain"]))
    print(f"ours from {res['plugin']}: {n} events; {res['requests']} requests in all")
    print(f"process: {total_cpu / n:,.0f} µs and {total_vol / n:.2f} wake-ups per event "
          f"(paced phase + flush); track() median {res['cost']['median_us']:.1f} µs, p99 {res['cost']['p99_us']:.1f} µs")
    probes = {}
    for phase in ("probes_paced", "probes_drain"):
        for key, (calls, cpu, vol) in res.get(phase, {}).items():
            e = probes.setdefault(key, [0, 0, 0])
            e[0] += calls
            e[1] += cpu
            e[2] += vol
    for name, (cpu, vol) in sorted(threads.items(), key=lambda kv: -kv[1][0]):
        if not cpu and not vol:
            continue
        print(f"\n  {name}: {cpu / n:,.1f} µs, {vol / n:.2f} wake-ups per event")
        rows = [(label.split("\t", 1)[1], v) for label, v in probes.items() if label.split("\t", 1)[0] == name]
        if not rows:
            continue
        in_probes_cpu = sum(v[1] for _, v in rows) / 1000.0
        in_probes_vol = sum(v[2] for _, v in rows)
        rows.append(("(outside any probe)", [0, (cpu - in_probes_cpu) * 1000.0, vol - in_probes_vol]))
        print(f"    {'cause (exclusive of nested probes)':52s} {'calls/ev':>8s} {'µs/ev':>8s} {'wake/ev':>8s}")
        for label, (calls, c, v) in sorted(rows, key=lambda r: -r[1][1]):
            print(f"    {label:52s} {calls / n:8.2f} {c / 1000.0 / n:8.1f} {v / n:8.2f}")
    for name, text in (res.get("cprofile") or {}).items():
        print(f"\n--- cProfile (CPU time), {name}: the paced phase and the flush ---")
        print("\n".join(text.splitlines()[:60]))


def compare(args):
    variants = []
    for item in args.compare:
        name, _, path = item.partition("=")
        variants.append((name, path or "plugin"))
    results = {name: [] for name, _ in variants}
    for r in range(args.rounds):
        for name, path in variants:
            print(f"[round {r + 1}/{args.rounds}] {name} ({path})", file=sys.stderr, flush=True)
            results[name].append(run_one(path, args, probes=False))
    print(f"{args.rate:g} calls/s for {args.seconds:g} s, then flush; {args.rounds} round(s) each, alternating\n")
    names = sorted({t for rs in results.values() for res in rs for t in by_thread(res)})
    head = ["variant", "CPU µs/event", "wake-ups/event", "all but caller", "requests/1k", "track p99 µs"]
    head += [f"{t} µs, wake" for t in names]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name, _ in variants:
        rs = results[name]
        n = sum(res["n"] for res in rs)
        cpu = sum(res[p]["cpu_us"] for res in rs for p in ("paced", "drain"))
        vol = sum(res[p]["nvcsw"] for res in rs for p in ("paced", "drain"))
        main = sum(res[p]["main_nvcsw"] for res in rs for p in ("paced", "drain"))
        req = sum(res["requests"] for res in rs)
        each = ", ".join(f"{sum(res[p]['cpu_us'] for p in ('paced', 'drain')) / res['n']:,.0f}" for res in rs)
        cells = [name, f"{cpu / n:,.0f} ({each})",
                 f"{vol / n:.2f}", f"{(vol - main) / n:.2f}", f"{req * 1000.0 / n:.1f}",
                 f"{statistics.median(res['cost']['p99_us'] for res in rs):.1f}"]
        for t in names:
            tc = sum(by_thread(res).get(t, [0, 0])[0] for res in rs)
            tv = sum(by_thread(res).get(t, [0, 0])[1] for res in rs)
            cells.append(f"{tc / n:,.0f}, {tv / n:.2f}")
        print("| " + " | ".join(cells) + " |")
    print("\n(requests/1k counts the warm-up's requests too; CPU per event in parentheses: each round)")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tests.benchmarks.phone_profile", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--plain", action="store_true", help="no probes: per-thread figures only")
    ap.add_argument("--cprofile", action="store_true", help="also cProfile the two workers")
    ap.add_argument("--plugin", default=None, help="the source root to import segment_statsig from")
    ap.add_argument("--compare", nargs="+", metavar="NAME=PATH", help="source roots to run side by side")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args(argv)
    if args.child:
        spec = json.loads(args.child)
        try:
            result = {"ok": True, **child_main(spec)}
        except BaseException as e:  # noqa: BLE001
            import traceback
            result = {"ok": False, "error": repr(e), "traceback": traceback.format_exc()}
        sys.stdout.write("RESULT " + json.dumps(result) + "\n")
        sys.stdout.flush()
        os._exit(0)
    if args.compare:
        compare(args)
        return 0
    res = run_one(args.plugin, args, probes=not args.plain)
    if not res.get("ok"):
        print(res.get("traceback") or res.get("error"), file=sys.stderr)
        return 1
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    report(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
