"""Damaged and odd storage files, two implementations side by side:

    git archive <old commit> | tar -x -C /tmp/old     # an older tree, no worktree needed
    python tests/storage_damage_compare.py /tmp/old/plugin plugin

Each case (a file replaced by a folder, a socket or a FIFO; an existing 0755 folder; random
bytes over one page of a queue of 3,000 undelivered events) runs in a fresh child process
whose PYTHONPATH is one implementation, against a loopback FakeStatsig, under a 20 s
deadline; prints a markdown table: case | before | after."""
import json
import os
import random
import resource
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time

KEY = "client-test-key-0123456789"
N = 3000
CASES = ["lock is a folder", "lock is a socket", "user.json is a FIFO", "journal.pos is a folder",
         "queue -wal is a folder", "existing folder 0755",
         "queue: intact (baseline)", "queue: 1 leaf page random", "queue: header page random", "queue: root page random"]


def child(case, store):
    import logging
    from segment_statsig import Analytics, StatsigDestination
    from segment_statsig.testing import FakeStatsig
    logging.basicConfig(level=logging.CRITICAL)
    out = {"case": case}
    t0 = time.monotonic()
    with FakeStatsig() as fake:
        try:
            a = Analytics(storage_dir=store, settings={"integrations": {"Statsig": {"apiKey": KEY}}}, flush_interval=0.05)
        except BaseException as e:
            out["exception"] = f"{type(e).__name__}"
            print("RESULT " + json.dumps(out)); return
        d = a.add(StatsigDestination(api_url=fake.url, retry_base=0.02, retry_max=0.2))
        out["durable"] = getattr(a.journal, "fd", None) is not None and d._get_queue().durable
        a.track("New", {"i": -2})
        ok = a.flush(timeout=15)
        got = [int(e["metadata"]["i"]) for e in fake.events]
        a.shutdown(2)
    out.update(ok=ok, delivered=len(set(got)), duplicated=len(got) - len(set(got)),
               old_delivered=len([i for i in set(got) if i >= 0]), seconds=round(time.monotonic() - t0, 2),
               maxrss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
               mode=oct(stat.S_IMODE(os.stat(store).st_mode)))
    print("RESULT " + json.dumps(out))


def build(plugin, store):
    """A queue with N undelivered events, checkpointed (as after a clean exit)."""
    code = f"""
import sys
from segment_statsig import Analytics, StatsigDestination
from segment_statsig.testing import FakeStatsig
with FakeStatsig() as fake:
    a = Analytics(storage_dir={str(store)!r}, settings={{"integrations": {{"Statsig": {{"apiKey": {KEY!r}}}}}}}, flush_interval=0.05)
    d = a.add(StatsigDestination(api_url=fake.url, retry_base=0.02, retry_max=0.2))
    fake.set_offline(True)
    for i in range({N}):
        a.track("Left Over", {{"i": i, "pad": "p" * (i % 300)}})
    a.flush(timeout=1)
    assert d.queue_depth == {N}, d.queue_depth
    a.shutdown(0.5)
"""
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ, PYTHONPATH=plugin))
    db = sqlite3.connect(os.path.join(store, "statsig-queue.sqlite3"))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = db.execute("SELECT rootpage FROM sqlite_schema WHERE name='events'").fetchone()[0]
    db.close()
    return root


def prepare(case, template, root, store):
    shutil.copytree(template, store)
    q = os.path.join(store, "statsig-queue.sqlite3")
    keep = None
    if case == "queue: intact (baseline)":
        return keep
    if case.startswith("queue:"):
        size = os.path.getsize(q) // 4096
        page = {"header": 1, "root": root}.get(case.split()[1], None) or size // 2
        with open(q, "r+b") as f:
            f.seek((page - 1) * 4096)
            f.write(random.Random(case).randbytes(4096))
        return keep
    if case == "existing folder 0755":
        os.chmod(store, 0o755)
        return keep
    name = {"lock is a folder": "lock", "lock is a socket": "lock", "user.json is a FIFO": "user.json",
            "journal.pos is a folder": "journal.pos", "queue -wal is a folder": "statsig-queue.sqlite3-wal"}[case]
    path = os.path.join(store, name)
    if os.path.lexists(path):
        os.unlink(path)
    if "folder" in case:
        os.mkdir(path)
    elif "FIFO" in case:
        os.mkfifo(path)
    elif "socket" in case:
        keep = socket.socket(socket.AF_UNIX); keep.bind(path)
    return keep


def main(old, new):
    work = tempfile.mkdtemp(prefix="measure-")
    template = os.path.join(work, "template")
    root = build(new, template)
    rows = {}
    for label, plugin in (("before", old), ("after", new)):
        for case in CASES:
            store = os.path.join(work, f"{label}-{CASES.index(case)}")
            keep = prepare(case, template, root, store)
            try:
                proc = subprocess.run([sys.executable, __file__, "child", case, store], capture_output=True, text=True,
                                      timeout=20, env=dict(os.environ, PYTHONPATH=plugin))
                line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
                rows[(case, label)] = json.loads(line[0][7:]) if line else {"exception": proc.stderr.strip().splitlines()[-1][:60]}
            except subprocess.TimeoutExpired:
                rows[(case, label)] = {"hang": True}
            finally:
                if keep is not None:
                    keep.close()
    shutil.rmtree(work, ignore_errors=True)

    def cell(r, case):
        if r.get("hang"):
            return "constructor blocked (killed at 20 s)"
        if "exception" in r:
            return f"{r['exception']} from Analytics()"
        text = (f"new event {'delivered' if r['ok'] else 'NOT delivered'}, dup {r['duplicated']}, "
                f"{'durable' if r['durable'] else 'NOT durable (memory)'}, {r['seconds']} s")
        if case.startswith("queue"):
            text = (f"{r['old_delivered']}/{N} queued delivered, dup {r['duplicated']}, "
                    f"{'durable' if r['durable'] else 'NOT durable'}, {r['seconds']} s, maxRSS {r['maxrss_mb']} MB")
        if "0755" in case:
            text = f"folder mode {r['mode']}; " + text
        return text
    print("| case | before | after |\n|---|---|---|")
    for case in CASES:
        print(f"| {case} | {cell(rows[(case, 'before')], case)} | {cell(rows[(case, 'after')], case)} |")


if __name__ == "__main__":
    if sys.argv[1] == "child":
        child(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1], sys.argv[2])
