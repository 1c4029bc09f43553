"""Side-by-side benchmark: segment_statsig vs segment-analytics-python vs statsig.

    python -m tests.benchmarks [--quick] [--json PATH] [--only ours,segment,statsig]

The phone-session scenario (session.py: the radio's wake-ups and high-power seconds,
Statsig's JS client under node among the peers) runs last, and writes its plot.

Every measurement runs in a fresh subprocess (tests/benchmarks/child.py) against a
loopback sink that runs here, in the parent (tests/benchmarks/server.py). One markdown
table goes to stdout; progress goes to stderr. The end-to-end bursts run in rounds
(three in a full run), the libraries taking turns, and each library's median round is
shown: on a shared machine one burst of under a second says little on its own.

Here, the command line, the two configurations and the order of the run; each
measurement is measure.py's, the table table.py's, the notes under it notes.py's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

from .measure import (EXTRA_IMPORTS, IMPORT_STMTS, log, measure_durability, measure_e2e, measure_import,
                      measure_phone, measure_rss, measure_track_cost, median_round, pool_phone)
from . import session
from .notes import notes
from .table import LIBS, render

CONFIGS = {
    "full": dict(track_n=5000, warmup=300, pace_s=0.0003, e2e_n=20000, e2e_deadline=60.0,
                 quiet_s=1.5, rss_n=10000, rss_settle_s=1.5, dur_kill_at=5000,
                 dur_restart_timeout=30.0, import_runs=7, child_timeout=120.0, e2e_rounds=3,
                 phone_rate=10.0, phone_paced_s=15.0, phone_idle_s=15.0, phone_warmup=10,
                 phone_settle_s=1.0, phone_rounds=2, phone_flush_interval=30.0,
                 session_scale=1.0, session_plot=os.path.join(os.path.dirname(__file__), "session_radio.png")),
    "quick": dict(track_n=300, warmup=50, pace_s=0.0002, e2e_n=1000, e2e_deadline=15.0,
                  quiet_s=0.5, rss_n=1000, rss_settle_s=0.3, dur_kill_at=200,
                  dur_restart_timeout=10.0, import_runs=1, child_timeout=60.0, e2e_rounds=1,
                  phone_rate=10.0, phone_paced_s=1.2, phone_idle_s=0.8, phone_warmup=3,
                  phone_settle_s=0.3, phone_rounds=1, phone_flush_interval=30.0,
                  session_scale=0.02, session_plot=None),
}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny numbers (a smoke run)")
    ap.add_argument("--json", metavar="PATH", help="also write every raw result as JSON")
    ap.add_argument("--only", default=",".join(LIBS), help="comma-separated subset of ours,segment,statsig")
    ap.add_argument("--skip", default="", help="comma-separated sections to skip: import,track,hang,e2e,e2e_big,rss,dur,phone,session")
    ap.add_argument("--phone-rounds", type=int, metavar="N", help="rounds of the phone-pace scenario (full: 2, quick: 1)")
    args = ap.parse_args(argv)
    cfg = dict(CONFIGS["quick" if args.quick else "full"])
    if args.phone_rounds is not None:
        cfg["phone_rounds"] = max(1, args.phone_rounds)
    libs = [l for l in args.only.split(",") if l in LIBS]
    skip = set(filter(None, args.skip.split(",")))
    R: dict = {"config": cfg, "python": sys.version.split()[0], "machine": platform.platform(),
               "cpus": os.cpu_count()}
    t_start = time.time()

    def section(name, fn, lib_list):
        if name in skip:
            return
        R.setdefault(name, {})
        for lib in lib_list:
            log(f"[{time.time() - t_start:6.1f}s] {name}: {lib}")
            R[name][lib] = fn(lib)

    section("import", lambda l: measure_import(IMPORT_STMTS[l], cfg["import_runs"]), libs)
    if "import" not in skip:
        R["import_extra"] = {k: measure_import(stmt, cfg["import_runs"]) for k, stmt in EXTRA_IMPORTS.items()}
    section("track", lambda l: measure_track_cost(l, cfg, "ok"), libs)
    section("hang", lambda l: measure_track_cost(l, cfg, "hang"), libs)
    def rounds(name, fn, lib_list):
        """Bursts are short and this machine is shared: run them in rounds, the
        libraries taking turns, and keep each one's median round (and its worst loss)."""
        if name in skip:
            return
        runs = {lib: [] for lib in lib_list}
        for r in range(cfg["e2e_rounds"]):
            for lib in lib_list:
                log(f"[{time.time() - t_start:6.1f}s] {name}: {lib} (round {r + 1} of {cfg['e2e_rounds']})")
                runs[lib].append(fn(lib))
        R[name] = {lib: median_round(results) for lib, results in runs.items()}

    rounds("e2e", lambda l: measure_e2e(l, cfg), libs)
    rounds("e2e_big", lambda l: measure_e2e(l, cfg, big=True), libs)
    if "phone" not in skip:
        # A phone's pace, in rounds, the libraries taking turns; every round pooled.
        runs = {lib: [] for lib in libs}
        for r in range(cfg["phone_rounds"]):
            for lib in libs:
                log(f"[{time.time() - t_start:6.1f}s] phone: {lib} (round {r + 1} of {cfg['phone_rounds']})")
                runs[lib].append(measure_phone(lib, cfg))
        R["phone"] = {lib: pool_phone(results) for lib, results in runs.items()}
        # The floor every library's figures include: the same loop calling nothing.
        log(f"[{time.time() - t_start:6.1f}s] phone: the loop alone (no library)")
        R["phone_floor"] = pool_phone([measure_phone("none", dict(cfg, phone_paced_s=min(5.0, cfg["phone_paced_s"]), phone_idle_s=min(1.0, cfg["phone_idle_s"])))])
    section("rss", lambda l: measure_rss(l, cfg), libs)
    section("dur", lambda l: measure_durability(l, cfg), [l for l in libs if l != "statsig"])
    if "session" not in skip:
        # The phone session (session.py): each library's radio cost; Statsig's JS client too.
        R["session"] = session.run(cfg["session_scale"], [l for l in session.LIBS if l in libs or l == "js" or (l == "ondevice" and "ours" in libs)],
                                   cfg["session_plot"], log=lambda m: log(f"[{time.time() - t_start:6.1f}s] {m}"))
    R["elapsed_s"] = time.time() - t_start

    mode = "quick" if args.quick else "full"
    print(f"## segment-statsig benchmark ({mode}: track n={cfg['track_n']}, burst n={cfg['e2e_n']}, "
          f"RSS n={cfg['rss_n']}, phone pace {cfg['phone_rate']:g}/s for {cfg['phone_paced_s']:g} s "
          f"+ {cfg['phone_idle_s']:g} s idle × {cfg['phone_rounds']}; Python {R['python']}, {R['cpus']} CPUs, {R['elapsed_s']:.0f} s)\n")
    print(render(R, cfg))
    print()
    print(notes(R, cfg))
    if "session" in R:
        print(f"\n## A phone session: the radio\n")
        print(session.render(R["session"], cfg["session_scale"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(R, f, indent=2, default=repr)
    return 0
