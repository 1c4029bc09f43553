"""A child process for the lifecycle test: one launch of an app at a version and build,
its lifecycle steps, then a clean stop or a wait for kill -9.

    python lifecycle_child.py STORE STATSIG_URL VERSION BUILD STEP...

Steps: bg (the app goes to the background; its flush is waited for), fg (it returns),
stop (shutdown: deliver everything), hold (print "holding" and wait to be killed).
Each step prints its name once done."""
import sys
import time

from segment_statsig import Analytics, StatsigDestination


def main(store, url, version, build, *steps):
    analytics = Analytics(storage_dir=store, settings={"integrations": {"Statsig": {"apiKey": "client-lifecycle"}}},
                          track_lifecycle_events=True, app_info={"version": version, "build": build},
                          flush_at=1000, flush_interval=3600)  # sends only when flushed
    analytics.add(StatsigDestination(api_url=url, retry_base=0.02, retry_max=0.2))
    analytics.on_start()
    print("started", flush=True)
    for step in steps:
        if step == "bg":
            analytics.on_background()
            assert analytics.flush(timeout=10)  # what the background flush sent is delivered
        elif step == "fg":
            analytics.on_foreground()
        elif step == "stop":
            assert analytics.shutdown(10)
        elif step == "hold":
            print("holding", flush=True)
            time.sleep(60)  # killed long before: the bound of a wait the parent never lets end
        print(step, flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
