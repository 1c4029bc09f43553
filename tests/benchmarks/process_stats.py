"""What a measuring process reads of itself: call-cost summaries, RSS, and CPU and context switches per thread."""

from __future__ import annotations

import os
import resource
import threading
import time


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


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
