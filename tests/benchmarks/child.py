"""One measurement, in a fresh process: ``python -m tests.benchmarks.child '<json spec>'``.

Prints exactly one line ``RESULT {json}`` on stdout, then leaves with ``os._exit`` so no
library's atexit hook (e.g. segment-analytics-python joining a consumer stuck on a
hanging server) can stretch the run.

Libraries:
  ours     segment_statsig.Analytics + StatsigDestination (device mode, journal on disk)
  segment  segment.analytics.Client (segment-analytics-python), default options
  statsig  statsig's Python server SDK, default options, log_event()

Every library is pointed at the loopback sink only: ours and segment through their
URL options, statsig through StatsigOptions(api=...) plus its error-reporting endpoint
(a class attribute hard-wired to Statsig's cloud), which we re-point at the sink too.
"""

from __future__ import annotations

import gc
import json
import mmap
import os
import resource
import struct
import sys
import threading
import time

WRITE_KEY = "bench-write-key"
STATSIG_SECRET = "secret-bench"
CLIENT_KEY = "client-bench"


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Lib:
    """A uniform face over the three libraries: track(i), drain(timeout), info()."""

    def __init__(self, name: str, url: str, tmp: str | None, options: dict | None = None):
        self.name = name
        options = options or {}
        if name == "ours":
            from segment_statsig import Analytics, StatsigDestination

            self.analytics = Analytics(
                settings={"integrations": {"Statsig": {"apiKey": CLIENT_KEY}}},
                storage_dir=tmp,
            )
            self.dest = StatsigDestination(api_url=url + "/v1", **options.get("dest", {}))
            self.analytics.add(self.dest)
            track = self.analytics.track

            def _track(i, _t=track):
                _t("Bench Event", {"i": i, "plan": "pro"})

            self.track = _track
        elif name == "segment":
            from segment.analytics import Client

            self.client = Client(WRITE_KEY, host=url, **options.get("client", {}))
            track = self.client.track

            def _track(i, _t=track):
                _t("user-1", "Bench Event", {"i": i, "plan": "pro"})

            self.track = _track
        elif name == "statsig":
            from statsig import StatsigEvent, StatsigOptions, StatsigUser, statsig
            from statsig.statsig_error_boundary import _StatsigErrorBoundary

            # Hard-wired to Statsig's cloud; keep the benchmark on loopback.
            _StatsigErrorBoundary.endpoint = url + "/v1/sdk_exception"
            self.statsig = statsig
            statsig.initialize(
                STATSIG_SECRET,
                StatsigOptions(api=url + "/v1/", disable_all_logging=False, **options.get("options", {})),
            )
            user = StatsigUser("u")
            log_event = statsig.log_event

            def _track(i, _l=log_event, _E=StatsigEvent, _u=user):
                _l(_E(_u, "Bench Event", metadata={"i": str(i), "plan": "pro"}))

            self.track = _track
        elif name == "none":  # the harness alone: what the pacing loop costs with no library
            self.track = lambda i: None
        else:
            raise ValueError(name)

    def drain(self, timeout: float):
        """What the library offers to deliver everything before exit."""
        if self.name == "ours":
            return self.analytics.shutdown(timeout=timeout)
        if self.name == "segment":
            self.client.flush()  # blocks until the queue is empty (queue.join)
            return True
        if self.name == "statsig":
            self.statsig.shutdown()
            return True

    def flush(self, timeout: float):
        """Deliver what is queued without shutting down (the phone-pace drain)."""
        if self.name == "ours":
            return self.analytics.flush(timeout=timeout)
        if self.name == "segment":
            self.client.flush()
            return True
        if self.name == "statsig":
            self.statsig.flush()  # synchronous: batches and posts on this thread
            return True
        return True

    def info(self) -> dict:
        out = {}
        if self.name == "ours":
            for attr in ("queue_depth",):
                try:
                    out[attr] = getattr(self.dest, attr)
                except Exception as e:  # the lead's API may still be moving
                    out[attr] = repr(e)
            try:
                st = self.dest.stats
                snap = st.snapshot() if hasattr(st, "snapshot") else st
                out["stats"] = snap if isinstance(snap, dict) else repr(snap)
            except Exception as e:
                out["stats"] = repr(e)
        elif self.name == "segment":
            out["queue_depth"] = self.client.queue.qsize()
        return out


def _percentile(sorted_vals, q):
    if not sorted_vals:
        return None
    k = min(len(sorted_vals) - 1, max(0, int(round(q * (len(sorted_vals) - 1)))))
    return sorted_vals[k]


def summarize_ns(samples):
    s = sorted(samples)
    return {
        "n": len(s),
        "median_us": _percentile(s, 0.5) / 1000.0,
        "p99_us": _percentile(s, 0.99) / 1000.0,
        "p999_us": _percentile(s, 0.999) / 1000.0,
        "max_us": s[-1] / 1000.0,
        "mean_us": sum(s) / len(s) / 1000.0,
    }


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


def thread_snapshot() -> dict:
    """{tid: [name, cpu ns, voluntary, involuntary switches]} for every live thread of
    this process (schedstat's first field is the thread's time on a CPU, in ns)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    main = threading.main_thread().native_id
    out = {}
    for entry in os.listdir("/proc/self/task"):
        tid = int(entry)
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                cpu_ns = int(f.read().split()[0])
            vol = invol = 0
            with open(f"/proc/self/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        vol = int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches"):
                        invol = int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue  # the thread ended while we looked
        name = "main" if tid == main else names.get(tid)
        if name is None:
            try:
                with open(f"/proc/self/task/{tid}/comm") as f:
                    name = "(native) " + f.read().strip()
            except OSError:
                name = "(native)"
        out[tid] = [name, cpu_ns, vol, invol]
    return out


def process_snapshot() -> dict:
    """Process totals (getrusage sums every thread, ended ones included) and per thread.
    The CPU clocks are read on the way in and on the way out, so that a window between
    two snapshots leaves out the cost of reading /proc itself."""
    cpu_in, main_in = time.process_time(), time.thread_time()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    me = resource.getrusage(resource.RUSAGE_THREAD)  # called on the main thread
    threads = thread_snapshot()
    return {"t": time.time(), "cpu_in": cpu_in, "main_in": main_in, "nvcsw": ru.ru_nvcsw,
            "nivcsw": ru.ru_nivcsw, "main_nvcsw": me.ru_nvcsw, "threads": threads,
            "cpu_out": time.process_time(), "main_out": time.thread_time()}


def snapshot_delta(a: dict, b: dict) -> dict:
    """What happened between two process snapshots; a thread new in `b` started in between.
    The main thread's CPU is its own clock's (without the snapshots); the others', schedstat's."""
    threads = {}
    main = threading.main_thread().native_id
    for tid, (name, cpu, vol, invol) in b["threads"].items():
        _, cpu0, vol0, invol0 = a["threads"].get(tid, [name, 0, 0, 0])
        cpu_us = (cpu - cpu0) / 1000.0
        if tid == main:
            cpu_us = (b["main_in"] - a["main_out"]) * 1e6
        threads[str(tid)] = {"name": name, "cpu_us": cpu_us, "vol": vol - vol0, "invol": invol - invol0}
    ended = [t for t in a["threads"] if t not in b["threads"]]
    return {"seconds": b["t"] - a["t"], "cpu_us": (b["cpu_in"] - a["cpu_out"]) * 1e6,
            "nvcsw": b["nvcsw"] - a["nvcsw"], "nivcsw": b["nivcsw"] - a["nivcsw"],
            "main_nvcsw": b["main_nvcsw"] - a["main_nvcsw"], "threads": threads,
            "threads_ended": len(ended)}


def m_phone_pace(spec):
    """A phone's pace: `rate` calls a second for `paced_s`, then `idle_s` of nothing,
    then the library's own flush. Each call's return time goes to the parent, which
    matches it with the time the sink received that event."""
    cpu_start = time.process_time()
    lib = Lib(spec["lib"], spec["url"], spec.get("tmp"), spec.get("options"))
    rate, n = spec["rate"], int(round(spec["rate"] * spec["paced_s"]))
    sleep, mono, now, pc = time.sleep, time.monotonic, time.time, time.perf_counter_ns
    track = lib.track
    # Warm-up (negative ids): lazy imports, the first connection, caches; delivered
    # and settled before anything is measured.
    for i in range(spec.get("warmup", 10)):
        track(-1 - i)
        sleep(1.0 / rate)
    lib.flush(spec.get("drain_timeout", 30.0))
    sleep(spec.get("settle_s", 1.0))
    returned = [0.0] * n
    samples = [0] * n
    gc.collect()
    s0 = process_snapshot()
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
    s1 = process_snapshot()
    sleep(spec["idle_s"])  # one sleep: the main thread wakes once in the idle phase
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
