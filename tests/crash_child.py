"""The app the storage tests kill: calls track() in a loop and prints each index once
track() has returned (flushed at once), so the parent knows which calls returned.

    python -m tests.crash_child STORAGE_DIR API_URL loop START PACE
    python -m tests.crash_child STORAGE_DIR API_URL drain
    python -m tests.crash_child STORAGE_DIR API_URL make N HOLD
    python -m tests.crash_child STORAGE_DIR API_URL idle
    python -m tests.crash_child STORAGE_DIR API_URL identify STEPS

`loop` tracks START, START+1, ... until killed (PACE seconds between calls);
`drain` makes no call: it starts, delivers what earlier runs left, prints
"drained True|False" and exits.
`make` tracks 0..N-1 (each ~200 bytes of journal) while the timeline stops for good
at the event with index HOLD (so the passes before it are processed and delivered,
the rest stay in the journal), prints "made" and waits to be killed.
`idle` adds its destination, makes no call and no flush, prints "idle" and waits to
be killed (an app opened and left alone).
`identify` tracks one event, at which the timeline stops for good (so nothing after it
is processed, nor the user saved by the worker), then makes the identity calls of
STEPS (comma-separated: identify, more, alias, reset), prints the identity as JSON
[anonymousId, userId, traits] once they returned, and waits to be killed.
A storage folder another process holds is refused: "refused <why>" and exit status 3.
"""
import json
import sys
import threading
import time

from segment_statsig import Analytics, EventPlugin, PluginType, StatsigDestination

KEY = "client-crash-test-key"


class Hold(EventPlugin):
    """Stops the timeline worker for good at the event whose index is `at`."""
    type = PluginType.BEFORE

    def __init__(self, at):
        super().__init__()
        self.at = at

    def track(self, event):
        if event["properties"].get("i") == self.at:
            threading.Event().wait()
        return event


def main(argv):
    storage_dir, api_url, mode = argv[:3]
    try:
        analytics = Analytics(storage_dir=storage_dir, settings={"integrations": {"Statsig": {"apiKey": KEY}}},
                              flush_at=20, flush_interval=0.05)
    except ValueError as error:  # the folder is another Analytics's
        sys.stdout.write(f"refused {error}\n")
        sys.stdout.flush()
        return 3
    if mode == "make":
        analytics.add(Hold(int(argv[4])))
    if mode == "identify":
        analytics.add(Hold(0))
    analytics.add(StatsigDestination(api_url=api_url, max_batch_size=50, max_burst_batch_size=200,
                                     max_queue_events=10_000_000,
                                     max_queue_bytes=2 << 30,  # the bounds would drop the oldest: not this test's point
                                     retry_base=0.05, retry_max=0.3, timeout=5.0))
    out = sys.stdout
    if mode == "drain":
        delivered = analytics.flush(timeout=60)
        out.write(f"drained {delivered}\n")
        out.flush()
        analytics.shutdown(2)
        return 0
    if mode == "make":
        for i in range(int(argv[3])):
            analytics.track("Crash Loop", {"i": i, "pad": "p" * 100})
        out.write("made\n")
        out.flush()
        threading.Event().wait()
    if mode == "identify":
        analytics.track("Crash Loop", {"i": 0})
        steps = {"identify": lambda: analytics.identify("user-7", {"plan": "pro", "seats": 3}),
                 "more": lambda: analytics.identify(None, {"seats": 4, "big": "x" * 100_000}),
                 "alias": lambda: analytics.alias("user-8"),
                 "reset": analytics.reset}
        for step in argv[3].split(","):
            steps[step]()
        out.write(json.dumps([analytics.anonymous_id, analytics.user_id, analytics.traits]) + "\n")
        out.flush()
        threading.Event().wait()
    if mode == "idle":
        out.write("idle\n")
        out.flush()
        threading.Event().wait()
    index, pace = int(argv[3]), float(argv[4])
    out.write("ready\n")
    out.flush()
    while True:
        analytics.track("Crash Loop", {"i": index})
        out.write(f"{index}\n")
        out.flush()
        index += 1
        if pace:
            time.sleep(pace)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
