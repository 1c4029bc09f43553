"""The app test_crash.py kills: calls track() in a loop and prints each index once
track() has returned (flushed at once), so the parent knows which calls returned.

    python -m tests.crash_child STORAGE_DIR API_URL loop START PACE
    python -m tests.crash_child STORAGE_DIR API_URL drain

`loop` tracks START, START+1, ... until killed (PACE seconds between calls);
`drain` makes no call: it starts, delivers what earlier runs left, prints
"drained True|False" and exits.
"""
import sys
import time

from segment_statsig import Analytics, StatsigDestination

KEY = "client-crash-test-key"


def main(argv):
    storage_dir, api_url, mode = argv[:3]
    analytics = Analytics(storage_dir=storage_dir, settings={"integrations": {"Statsig": {"apiKey": KEY}}},
                          flush_at=20, flush_interval=0.05)
    analytics.add(StatsigDestination(api_url=api_url, max_batch_size=50, max_queue_events=10_000_000,
                                     max_queue_bytes=2 << 30,  # the bounds would drop the oldest: not this test's point
                                     retry_base=0.05, retry_max=0.3, timeout=5.0))
    out = sys.stdout
    if mode == "drain":
        delivered = analytics.flush(timeout=60)
        out.write(f"drained {delivered}\n")
        out.flush()
        analytics.shutdown(2)
        return 0
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
