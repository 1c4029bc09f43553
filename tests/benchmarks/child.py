"""One measurement, in a fresh process: ``python -m tests.benchmarks.child '<json spec>'``.

Prints exactly one line ``RESULT {json}`` on stdout, then leaves with ``os._exit`` so no
library's atexit hook (e.g. segment-analytics-python joining a consumer stuck on a
hanging server) can stretch the run. The libraries are libraries.py's; what the process
reads of itself, process_stats.py's.
"""

from __future__ import annotations

import gc
import json
import mmap
import os
import struct
import sys
import time

from .libraries import Lib
from .process_stats import process_snapshot, rss_bytes, snapshot_delta, summarize_ns


# -- an app's pace -----------------------------------------------------------------

def warm_up(lib, rate, calls, drain_timeout, settle_s):
    """Calls with negative ids at `rate`, then the library's flush and a settle: lazy
    imports, the first connection and caches are done before anything is measured."""
    for i in range(calls):
        lib.track(-1 - i)
        time.sleep(1.0 / rate)
    lib.flush(drain_timeout)
    time.sleep(settle_s)


def paced_calls(track, n, rate):
    """track(0) .. track(n-1) on a fixed schedule of `rate` a second (one sleep per call,
    none when late), then the sleep to the schedule's end. Returns each call's cost on
    the caller's thread (ns) and the wall time it returned at."""
    sleep, mono, now, pc = time.sleep, time.monotonic, time.time, time.perf_counter_ns
    samples, returned = [0] * n, [0.0] * n
    t0 = mono()
    for i in range(n):
        delay = t0 + i / rate - mono()
        if delay > 0:
            sleep(delay)
        a = pc()
        track(i)
        samples[i] = pc() - a
        returned[i] = now()
    delay = t0 + n / rate - mono()
    if delay > 0:
        sleep(delay)
    return samples, returned


# -- measurements -----------------------------------------------------------------

def m_track_cost(spec):
    """Caller's-thread cost of one call: perf_counter_ns around each, paced like an app."""
    lib = Lib(spec["lib"], spec["url"], spec.get("tmp"), spec.get("options"))
    pace = spec.get("pace_s", 0.0003)
    warm = spec.get("warmup", 200)
    n = spec["n"]
    pc = time.perf_counter_ns
    sleep = time.sleep
    track = lib.track
    for i in range(warm):
        track(i)
        sleep(pace)
    sleep(0.2)
    samples = [0] * n
    cpu0 = time.process_time()
    for j in range(n):
        t0 = pc()
        track(warm + j)
        samples[j] = pc() - t0
        if pace:
            sleep(pace)
    sleep(0.5)  # the workers' share of these events, done after the loop
    cpu = time.process_time() - cpu0
    out = summarize_ns(samples)
    out["cpu_per_event_us"] = cpu / n * 1e6
    out["info"] = lib.info()
    return out


def m_e2e(spec):
    """A burst of n events, then the library's own drain; the parent times the sink."""
    lib = Lib(spec["lib"], spec["url"], spec.get("tmp"), spec.get("options"))
    n = spec["n"]
    time.sleep(0.2)  # let background start-up (threads, config fetch) settle
    pc = time.perf_counter_ns
    track = lib.track
    samples = [0] * n
    t0 = time.time()
    for i in range(n):
        a = pc()
        track(i)
        samples[i] = pc() - a
    t_burst = time.time()
    err = None
    try:
        ok = lib.drain(spec.get("drain_timeout", 60.0))
    except Exception as e:  # report, don't hide
        ok, err = False, repr(e)
    t_drain = time.time()
    return {
        "t0": t0,
        "t_burst": t_burst,
        "t_drain": t_drain,
        "drain_returned": ok if isinstance(ok, (bool, type(None))) else repr(ok),
        "drain_error": err,
        "burst_cost": summarize_ns(samples),
        "info": lib.info(),
    }


def m_rss(spec):
    """RSS growth for n queued, undelivered events (the sink hangs)."""
    lib = Lib(spec["lib"], spec["url"], spec.get("tmp"), spec.get("options"))
    track = lib.track
    for i in range(spec.get("warmup", 100)):
        track(-1 - i)
    time.sleep(0.5)
    gc.collect()
    r0 = rss_bytes()
    n = spec["n"]
    for i in range(n):
        track(i)
    time.sleep(spec.get("settle_s", 1.0))
    gc.collect()
    r1 = rss_bytes()
    return {"rss0": r0, "rss1": r1, "delta": r1 - r0, "n": n, "info": lib.info()}


def m_durable_track(spec):
    """Track events as fast as the caller can, publishing the count returned to an
    mmap'd file after each call; the parent SIGKILLs us at a moment of its choosing."""
    lib = Lib(spec["lib"], spec["url"], spec.get("tmp"), spec.get("options"))
    fd = os.open(spec["counter"], os.O_RDWR)
    mm = mmap.mmap(fd, 8)
    pack = struct.pack_into
    track = lib.track
    print("READY", flush=True)
    n = spec["n"]
    for i in range(n):
        track(i)
        pack("<Q", mm, 0, i + 1)
    # Not killed before the end: keep the process alive so the parent's kill is real.
    time.sleep(60)
    return {"finished": True}


def m_durable_restart(spec):
    """Restart on the same storage and let the library deliver what it kept."""
    lib = Lib(spec["lib"], spec["url"], spec.get("tmp"), spec.get("options"))
    err = None
    try:
        ok = lib.drain(spec.get("drain_timeout", 30.0))
    except Exception as e:
        ok, err = False, repr(e)
    return {"drain_returned": ok if isinstance(ok, (bool, type(None))) else repr(ok),
            "drain_error": err, "info": lib.info()}


def m_phone_pace(spec):
    """A phone's pace: `rate` calls a second for `paced_s`, then `idle_s` of nothing,
    then the library's own flush. Each call's return time goes to the parent, which
    matches it with the time the sink received that event."""
    cpu_start = time.process_time()
    lib = Lib(spec["lib"], spec["url"], spec.get("tmp"), spec.get("options"))
    rate, n = spec["rate"], int(round(spec["rate"] * spec["paced_s"]))
    warm_up(lib, rate, spec.get("warmup", 10), spec.get("drain_timeout", 30.0), spec.get("settle_s", 1.0))
    gc.collect()
    s0 = process_snapshot()
    samples, returned = paced_calls(lib.track, n, rate)
    s1 = process_snapshot()
    time.sleep(spec["idle_s"])  # one sleep: the main thread wakes once in the idle phase
    s2 = process_snapshot()
    err = None
    try:
        ok = lib.flush(spec.get("drain_timeout", 30.0))
    except Exception as e:  # report, don't hide
        ok, err = False, repr(e)
    s3 = process_snapshot()
    return {
        "n": n,
        "returned": returned,
        "cost": summarize_ns(samples),
        "cost_ns": samples,
        "t_paced": s0["t"], "t_idle": s1["t"], "t_drain": s2["t"], "t_end": s3["t"],
        "paced": snapshot_delta(s0, s1),
        "idle": snapshot_delta(s1, s2),
        "drain": snapshot_delta(s2, s3),
        "drain_returned": ok if isinstance(ok, (bool, type(None))) else repr(ok),
        "drain_error": err,
        "startup_cpu_ms": (s0["cpu_in"] - cpu_start) * 1000.0,
        "info": lib.info(),
    }


KINDS = {
    "phone_pace": m_phone_pace,
    "track_cost": m_track_cost,
    "e2e": m_e2e,
    "rss": m_rss,
    "durable_track": m_durable_track,
    "durable_restart": m_durable_restart,
}


def main():
    spec = json.loads(sys.argv[1])
    try:
        result = {"ok": True, **KINDS[spec["kind"]](spec)}
    except BaseException as e:  # noqa: BLE001 - the parent reports it in the table
        import traceback

        result = {"ok": False, "error": f"{type(e).__name__}: {e}",
                  "traceback": traceback.format_exc()[-2000:]}
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
