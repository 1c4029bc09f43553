"""The README's "Use it" snippet against a local Statsig stand-in, with no account:

    python examples/local_statsig.py

FakeStatsig (from segment_statsig.testing) is a real HTTP server on 127.0.0.1 that
speaks Statsig's event API. Its `.url` is what StatsigDestination takes as `api_url`:
`http://127.0.0.1:<port>/v1`, the base that `/log_event` (and `/initialize`) go under.
Plain `http://` is accepted only to loopback; anything else must be `https://`.
"""
import json
import tempfile

from segment_statsig import Analytics, StatsigDestination
from segment_statsig.testing import FakeStatsig


def main():
    with FakeStatsig() as statsig, tempfile.TemporaryDirectory() as storage_dir:
        print(f"Statsig stand-in at {statsig.url}")
        analytics = Analytics(settings={"integrations": {"Statsig": {"apiKey": "client-local-example"}}},
                              storage_dir=storage_dir)
        # Statsig's base URL, on the destination. (Analytics has an api_url too: that one is
        # Segment's, for the cloud leg with a write key; this script has none.)
        analytics.add(StatsigDestination(api_url=statsig.url))
        analytics.track("Login Button Clicked", {"method": "email"})
        analytics.identify("user-42", {"email": "ada@example.com", "order_completed_last_30days": True})
        analytics.screen("Home")
        delivered = analytics.flush(timeout=10)  # send now and wait (an app would not wait)
        analytics.shutdown()

        print(f"delivered: {delivered}; Statsig received {len(statsig.events)} events "
              f"in {len(statsig.event_requests)} request to {statsig.event_requests[0].path}:")
        for event in statsig.events:
            user = event["user"]
            who = {k: user[k] for k in ("userID", "email", "custom") if k in user}
            who["customIDs"] = sorted(user.get("customIDs", {}))  # the anonymousId, twice
            print(f"  {event['eventName']}\n    metadata {json.dumps(event.get('metadata', {}))}\n"
                  f"    user {json.dumps(who)}")

if __name__ == "__main__":
    main()
