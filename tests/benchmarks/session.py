"""The phone-session scenario: what each library costs a phone's radio in a short session.

    python -m tests.benchmarks.session [--scale 1.0] [--plot PATH] [--only ours,ondevice,js,statsig,segment]

About 50 track() calls at a human pace (one every 1-5 s, seeded) for 150 s, a gate check
at launch, the app backgrounded at 150 s (each library's flush, as a mobile SDK flushes
then), idle to 180 s. Each library runs in its own process against a loopback sink that
notes every request's time; the radio model (delivery/radio_model.py, AT&T ARO's LTE
parameters) turns those times into wake-ups, high-power seconds and joules per hour of
such sessions. Ours runs in device mode with a write key: both legs (Statsig and the
Segment cloud leg), settings from the CDN, its default schedule (RadioFlushPolicy).

`--scale` compresses the scenario's clock (0.02: 3.6 s) for a smoke run: our max_delay and
radio window scale with it, the peers' own timers do not, so only scale 1 gives figures.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from .libraries import CLIENT_KEY, STATSIG_SECRET, WRITE_KEY
from .measure import REPO, _parse_result, child_env
from .server import SinkServer

SESSION_S, BACKGROUND_S = 180.0, 150.0
LIBS = {"ours": "ours (both legs)", "ondevice": "ours, on-device evaluation (both legs)",
        "js": "Statsig JS client (node)", "statsig": "statsig (Python)",
        "segment": "segment-analytics-python"}
NODE_DIR = os.path.join(REPO, "tests", "node")


def schedule(seed: int = 25) -> list:
    """When each track() is made (seconds from launch): every 1-5 s until 150 s."""
    rng, times, t = random.Random(seed), [], 0.0
    while True:
        t += rng.uniform(1.0, 5.0)
        if t >= BACKGROUND_S:
            return times
        times.append(round(t, 3))


# -- the child: one library, the whole session ------------------------------------------

def child(lib: str, url: str, scale: float, times: list) -> dict:
    start = time.monotonic()
    t0 = time.time()
    at = lambda s: time.sleep(max(0.0, start + s * scale - time.monotonic()))  # noqa: E731
    if lib in ("ours", "ondevice"):
        from segment_statsig import Analytics, StatsigDestination

        options = {}
        if scale != 1:  # (at scale 1 nothing is asked of the code: an older tree runs it as it is)
            from segment_statsig import RadioFlushPolicy

            options["flush_policies"] = [RadioFlushPolicy(max_delay=300 * scale)]
        analytics = Analytics(WRITE_KEY, storage_dir=tempfile.mkdtemp(prefix="session-"), cdn_url=url,
                              api_url=url, **options)
        if scale != 1:
            analytics.radio.tail *= scale
            analytics.radio.window *= scale
        # on-device: config specs once instead of initialize per user (same schedule, same legs)
        mode = {"on_device_evaluation": True} if lib == "ondevice" else {}
        statsig = analytics.add(StatsigDestination(api_url=url + "/v1", **mode))
        cpu0 = time.process_time()
        statsig.check_gate("launch_gate")
        track = lambda i: analytics.track("Bench Event", {"i": i, "plan": "pro"})  # noqa: E731
        background = analytics.on_background
    elif lib == "statsig":
        from statsig import StatsigEvent, StatsigOptions, StatsigUser, statsig
        from statsig.statsig_error_boundary import _StatsigErrorBoundary

        _StatsigErrorBoundary.endpoint = url + "/v1/sdk_exception"
        statsig.initialize(STATSIG_SECRET, StatsigOptions(api=url + "/v1/"))
        user = StatsigUser("session-user")
        cpu0 = time.process_time()
        statsig.check_gate(user, "launch_gate")
        track = lambda i: statsig.log_event(StatsigEvent(user, "Bench Event", metadata={"i": str(i)}))  # noqa: E731
        background = statsig.flush
    elif lib == "segment":
        from segment.analytics import Client

        client = Client(WRITE_KEY, host=url)
        cpu0 = time.process_time()
        track = lambda i: client.track("session-user", "Bench Event", {"i": i, "plan": "pro"})  # noqa: E731
        background = client.flush
    else:
        raise ValueError(lib)
    made = {}
    for i, t in enumerate(times):
        at(t)
        made[i] = time.time()
        track(i)
    at(BACKGROUND_S)
    background()
    at(SESSION_S)
    return {"ok": True, "t0": t0, "made": made, "cpu_s": time.process_time() - cpu0}


# -- the parent: run each library against its own sink, then the radio model ------------

def run_one(lib: str, scale: float, times: list) -> dict:
    sink = SinkServer(record_ids=True).start()
    sink.settings_body = json.dumps({"integrations": {"Statsig": {"apiKey": CLIENT_KEY},
                                                      "Segment.io": {"apiKey": WRITE_KEY}}}).encode()
    timeout = SESSION_S * scale + 60
    try:
        if lib == "js":
            node = shutil.which("node")
            if node is None or not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "@statsig", "js-client")):
                return {"ok": False, "error": "node or @statsig/js-client missing (./dev test installs them)"}
            config = {"url": sink.url + "/v1", "key": CLIENT_KEY, "scale": scale, "times": times,
                      "background_at": BACKGROUND_S, "end_at": SESSION_S}
            p = subprocess.run([node, os.path.join(NODE_DIR, "session_driver.js"), json.dumps(config)],
                               cwd=NODE_DIR, capture_output=True, text=True, timeout=timeout)
        else:
            p = subprocess.run([sys.executable, "-m", "tests.benchmarks.session", "--child", lib, sink.url,
                                str(scale)], cwd=REPO, env=child_env(), capture_output=True, text=True,
                               timeout=timeout)
        result = _parse_result(p.stdout, p.stderr, p.returncode)
        time.sleep(0.2)  # a request the child made just before it ended
        with sink._lock:
            result["requests"] = [t for t, _, _ in sink.request_log]
            result["received"] = {}
            for i, t in sink.id_times:
                result["received"].setdefault(str(i), t)
        return result
    finally:
        sink.stop()


def figures(result: dict, scale: float) -> dict:
    from segment_statsig.delivery.radio_model import usage

    t0 = result["t0"]
    at = sorted((t - t0) / scale for t in result["requests"])
    used = usage(at)
    wakeups, seconds, joules = used.per_hour(SESSION_S)
    made, received = result["made"], result["received"]
    latency = sorted((received[i] - made[i]) / scale for i in made if i in received)
    events = len(made)
    return {"wakeups_h": wakeups, "high_s_h": seconds, "joules_h": joules, "requests": len(at),
            "p95_s": latency[int(0.95 * (len(latency) - 1))] if latency else None,
            "max_s": latency[-1] if latency else None, "undelivered": events - len(latency),
            "cpu_us": result["cpu_s"] / events * 1e6 if events else None, "events": events,
            "spells": used.spells, "at": at}


def render(rows: dict, scale: float) -> str:
    from segment_statsig.delivery.radio_model import LTE

    fmt = lambda v, f: "—" if v is None else format(v, f)  # noqa: E731
    head = ["per hour of such sessions"] + [LIBS[lib] for lib in rows]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for title, key, f in (("radio wake-ups", "wakeups_h", ",.0f"), ("radio high-power seconds", "high_s_h", ",.0f"),
                          ("radio joules", "joules_h", ",.0f"), ("requests per session", "requests", "d"),
                          ("p95 delivery latency (s)", "p95_s", ".1f"), ("max delivery latency (s)", "max_s", ".1f"),
                          ("events undelivered at the end", "undelivered", "d"),
                          ("CPU per event, start-up excluded (µs)", "cpu_us", ",.0f")):
        cells = [r.get("error", "error")[:60] if not r.get("ok") else fmt(r.get(key), f) for r in rows.values()]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    events = next((r["events"] for r in rows.values() if r.get("ok")), 0)
    lines.append("")
    lines.append(f"Session: {events} track() calls every 1-5 s for {BACKGROUND_S:g} s, a gate check at launch, "
                 f"background at {BACKGROUND_S:g} s, idle to {SESSION_S:g} s; clock scale {scale:g}"
                 + ("" if scale == 1 else " (a smoke run: the peers' timers are not scaled; no figures)") + ".")
    lines.append(f"Radio model: {LTE.describe()}; a request finding the radio idle wakes it; per hour = "
                 f"× 3600 / {SESSION_S:g}. Sources: AT&T ARO (VideoOptimizer lte.conf); 5G tails ~10 s "
                 "(SIGCOMM'21 5G measurement artifact).")
    return "\n".join(lines)


def plot(rows: dict, path: str) -> str:
    """Each library's radio state over the session, one lane each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = {lib: r for lib, r in rows.items() if r.get("ok")}
    fig, ax = plt.subplots(figsize=(10, 0.9 * len(shown) + 1.2))
    for lane, (lib, r) in enumerate(reversed(list(shown.items()))):
        for start, promoted, end in r["spells"]:
            ax.broken_barh([(start, promoted - start)], (lane - 0.35, 0.7), color="#d62728")
            ax.broken_barh([(promoted, end - promoted)], (lane - 0.35, 0.7), color="#ff9896")
        ax.plot(r["at"], [lane] * len(r["at"]), "|", color="black", markersize=14)
        ax.text(SESSION_S + 1, lane, f"{r['high_s_h']:,.0f} s/h, {r['wakeups_h']:,.0f} wake-ups/h", va="center",
                fontsize=8)
    ax.set_yticks(range(len(shown)))
    ax.set_yticklabels([LIBS[lib] for lib in reversed(list(shown))])
    ax.axvline(BACKGROUND_S, color="grey", linestyle="--")
    ax.text(BACKGROUND_S, -0.6, " background", color="grey", fontsize=8)
    ax.set_xlim(0, SESSION_S + 45)
    ax.set_ylim(-0.7, len(shown) - 0.3)
    ax.set_xlabel("seconds into the session (red: promotion, pink: high-power tail, |: a request)")
    ax.set_title("LTE radio state over one phone session (AT&T ARO model)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run(scale: float = 1.0, libs=tuple(LIBS), plot_path=None, log=lambda m: print(m, file=sys.stderr)) -> dict:
    times = schedule()
    rows = {}
    for lib in libs:
        log(f"session: {lib} ({SESSION_S * scale:.0f} s)")
        result = run_one(lib, scale, times)
        rows[lib] = dict(figures(result, scale), ok=True) if result.get("ok") else result
    if plot_path:
        try:
            log(f"session: radio plot written to {plot(rows, plot_path)}")
        except ImportError as error:
            log(f"session: no plot ({error}; the bench extra installs matplotlib)")
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.benchmarks.session", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--plot", metavar="PATH")
    ap.add_argument("--only", default=",".join(LIBS))
    ap.add_argument("--child", nargs=3, metavar=("LIB", "URL", "SCALE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        lib, url, scale = args.child
        print("RESULT " + json.dumps(child(lib, url, float(scale), schedule())), flush=True)
        os._exit(0)  # the app is gone: no library's exit handler sends anything more
    rows = run(args.scale, [lib for lib in args.only.split(",") if lib in LIBS], args.plot)
    print(render(rows, args.scale))
    return 0


if __name__ == "__main__":
    sys.exit(main())
