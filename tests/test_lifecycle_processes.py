"""Lifecycle events across launches of one app, each its own process: launch, background,
return, kill -9, an update. By Segment's Spec: Installed once, Updated with the previous
version and build, one Opened (from_background false) per launch, one Opened
(from_background true) per return, never a second Opened for one launch."""
import os
import subprocess
import sys

CHILD = os.path.join(os.path.dirname(__file__), "lifecycle_child.py")


def launch(store, url, version, build, *steps):
    """Run one launch; with a final "hold", kill -9 it once it holds. Returns its lines."""
    proc = subprocess.Popen([sys.executable, CHILD, str(store), url, version, build, *steps],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line.strip())
            if line.strip() == "holding":
                proc.kill()  # SIGKILL: nothing of the child's runs after this
                break
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    stderr = proc.stderr.read()
    proc.stderr.close()
    assert lines[-1] in ("holding", steps[-1]), (lines, stderr)
    return lines


def test_lifecycle_events_across_launches_background_return_and_kill(tmp_path, fake_statsig):
    store, url = tmp_path / "store", fake_statsig.url
    # Launch 1 (1.0/1): goes to the background (its flush sends), returns, is killed:
    # the return's Opened is only in the journal, the next launch delivers it.
    launch(store, url, "1.0", "1", "bg", "fg", "hold")
    # Launch 2, same version: the platform reports a foreground at launch as well (the
    # analytics-swift#265 case), then it is killed again.
    launch(store, url, "1.0", "1", "fg", "hold")
    # Launch 3, an update: background, two returns reported for one, clean stop.
    launch(store, url, "1.1", "2", "bg", "fg", "fg", "stop")
    got = [(e["eventName"].split(":", 1)[1], e["metadata"]) for e in fake_statsig.events]
    v1, v2 = {"version": "1.0", "build": "1"}, {"version": "1.1", "build": "2"}
    assert got == [
        ("Application Installed", v1),
        ("Application Opened", {"from_background": "false", **v1}),
        ("Application Backgrounded", {}),
        ("Application Opened", {"from_background": "true", **v1}),    # launch 1's return, sent by launch 2
        ("Application Opened", {"from_background": "false", **v1}),   # launch 2: one Opened
        ("Application Updated", {**v2, "previous_version": "1.0", "previous_build": "1"}),
        ("Application Opened", {"from_background": "false", **v2}),
        ("Application Backgrounded", {}),
        ("Application Opened", {"from_background": "true", **v2}),
    ], got
