"""Where batches begin and end: the rules the sender follows (flush_at, paced part
batches, burst batches, flush()), not the moment a thread happens to run."""
import time

import pytest

from segment_statsig import StatsigDestination


def counts(fake):
    return [len(r.body["events"]) for r in fake.event_requests]


def test_the_first_call_of_a_launch_waits_for_its_batch(make_client, fake_statsig):
    # The timeline starts with the first call; it used to take the lines it found
    # waiting as an earlier run's and send them at once: the first event of every
    # launch went out alone (and, on a loaded machine, any calls made before the
    # thread first ran).
    analytics, _ = make_client(flush_at=20, flush_interval=30)
    analytics.track("First")
    deadline = time.monotonic() + 5
    while not analytics.worker.asleep and time.monotonic() < deadline:  # the thread has run, then slept
        time.sleep(0.005)
    assert analytics.worker.asleep
    analytics.track("Second")
    assert analytics.flush(timeout=5)
    assert counts(fake_statsig) == [2]


def test_batching_up_to_max_batch_size(make_client, fake_statsig):
    """A backlog goes out in batches of up to max_burst_batch_size; app-paced events
    (flush_at at a time) in batches of max_batch_size at most."""
    analytics, _ = make_client(flush_at=50, flush_interval=30,
                               dest_options={"max_batch_size": 100, "max_burst_batch_size": 120})
    for i in range(250):
        analytics.track("Burst", {"i": i})
    assert analytics.flush(timeout=10)
    assert counts(fake_statsig) == [120, 120, 10]
    assert [int(e["metadata"]["i"]) for e in fake_statsig.events] == list(range(250))
    fake_statsig.clear()
    for i in range(90):
        analytics.track("Paced", {"i": i})
    assert analytics.flush(timeout=10)
    assert counts(fake_statsig) == [90]


def test_a_burst_grows_batches_to_1000_and_app_pace_keeps_flush_at(make_client, fake_statsig):
    analytics, _ = make_client(flush_at=20, flush_interval=30)
    for i in range(2500):
        analytics.track("Burst", {"i": i})
    assert analytics.flush(timeout=20)
    sizes = counts(fake_statsig)
    assert sum(sizes) == 2500 and max(sizes) == 1000 and len(sizes) <= 4, sizes
    fake_statsig.clear()
    for i in range(20):
        analytics.track("App Paced", {"i": i})
    assert fake_statsig.wait_for_events(20, timeout=10)  # flush_at reached: sent, no flush() needed
    assert counts(fake_statsig) == [20]


def test_max_burst_batch_size_is_checked():
    with pytest.raises(ValueError):
        StatsigDestination("client-x", api_url="http://127.0.0.1:9/v1", max_batch_size=100, max_burst_batch_size=50)
