"""The notes under the benchmark's table: import details, kill -9 counts, every round, and the phone pace by thread."""

from __future__ import annotations

from .measure import EXTRA_IMPORTS
from .table import LIB_TITLES, LIBS


def phone_threads(res, phase_names=("paced", "drain")):
    """{thread name: [cpu µs, voluntary switches]} summed over the rounds and phases."""
    by = {}
    for r in res.get("rounds", []):
        for phase in phase_names:
            for t in r[phase]["threads"].values():
                name = t["name"]
                if name.startswith("Thread-"):
                    name = "Thread-N"
                acc = by.setdefault(name, [0.0, 0])
                acc[0] += t["cpu_us"]
                acc[1] += t["vol"]
    return by


def notes(R, cfg) -> str:
    n = []
    imp = R.get("import_extra", {})
    for key, stmt in EXTRA_IMPORTS.items():
        r = imp.get(key)
        if r and r.get("ok"):
            n.append(f"- `{stmt}`: {r['median_us'] / 1000:.1f} ms (median of {len(r['runs_us'])})")
    du = R.get("dur", {})
    for lib in ("ours", "segment"):
        d = du.get(lib)
        if d and d.get("ok"):
            n.append(f"- kill -9, {LIB_TITLES[lib]}: {d['returned']:,} returned, "
                     f"{d['delivered_before_kill']:,} delivered before the kill, "
                     f"{d['delivered']:,} delivered in all, {d['duplicates']:,} duplicates, "
                     f"{d['beyond_count']:,} delivered past the published count"
                     + (" (memory-only queue: nothing survives a restart)" if lib == "segment" else ""))
    floor = R.get("phone_floor")
    if floor and floor.get("ok"):
        fl = floor["paced"]
        n.append(
            f"- phone pace, the loop alone (no library, same pacing): {fl['cpu_us'] / floor['n']:,.0f} µs and "
            f"{fl['nvcsw'] / floor['n']:.2f} wake-ups per call; every library's per-event figures include it")
    for lib in LIBS:
        ph = R.get("phone", {}).get(lib)
        if not ph or not ph.get("ok"):
            continue
        events = ph["n"]
        rounds = ph["rounds"]
        per_round = ", ".join(
            f"{(r['paced']['cpu_us'] + r['drain']['cpu_us']) / r['n']:,.0f} µs and "
            f"{(r['paced']['nvcsw'] + r['drain']['nvcsw']) / r['n']:.2f} wake-ups" for r in rounds)
        notes_line = (f"- phone pace, {LIB_TITLES[lib]}: {len(rounds)} round(s) of {rounds[0]['n']} calls, "
                      f"per event in each: {per_round}; event requests in the idle phase "
                      f"{ph['idle_event_requests']}; all requests {rounds[-1]['paths']}, on "
                      f"{rounds[-1]['connections']} new connection(s) (last round); start-up (import, "
                      f"set-up, warm-up) {rounds[-1]['startup_cpu_ms']:.0f} ms of CPU")
        n.append(notes_line)
        busy = phone_threads(ph)
        idle = phone_threads(ph, ("idle",))
        idle_min = ph["idle"]["seconds"] / 60.0
        parts = []
        for name, (cpu, vol) in sorted(busy.items(), key=lambda kv: -kv[1][0]):
            icpu, ivol = idle.get(name, [0.0, 0])
            if not cpu and not vol and not icpu and not ivol:
                continue
            parts.append(f"{name} {cpu / events:,.0f} µs + {vol / events:.2f} wake-ups per event, "
                         f"idle {icpu / 1000.0 / idle_min:.1f} ms + {ivol / idle_min:.0f} per min")
        n.append(f"- phone pace, {LIB_TITLES[lib]}, by thread (paced phase + flush; idle): " + "; ".join(parts))
    for lib in LIBS:
        e = R.get("e2e", {}).get(lib)
        if e and e.get("ok"):
            if len(e.get("round_rates") or []) > 1:
                n.append(f"- burst, {LIB_TITLES[lib]}: events/s in each round "
                         + ", ".join("error" if x is None else f"{x:,.0f}" for x in e["round_rates"])
                         + " (the table shows the median round; events lost is the worst round's)")
            n.append(f"- burst, {LIB_TITLES[lib]}: drain call took "
                     f"{e['t_drain'] - e['t_burst']:.2f} s after a {e['t_burst'] - e['t0']:.2f} s burst, "
                     f"returned {e.get('drain_returned')!r}; server paths {e['server']['paths']}"
                     + (f"; library stats {e['info']['stats']}" if (e.get('info') or {}).get('stats') else ""))
    return "\n".join(n)
