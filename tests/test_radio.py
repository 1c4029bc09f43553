"""The radio seam (delivery/radio.py) and the radio-aware default schedule
(RadioFlushPolicy), over the loopback fake Statsig and fake Segment API: one wake-up
carries every leg, the app's own traffic carries what is pending, offline is quiet,
max_delay holds, and a kill -9 while events are held loses none of them."""
import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from segment_statsig import (Analytics, BackgroundFlushPolicy, CountFlushPolicy, FrequencyFlushPolicy,
                             RadioFlushPolicy, StatsigDestination)
from segment_statsig.delivery.radio_model import usage

KEY = "client-radio-test"
SETTINGS = {"integrations": {"Statsig": {"apiKey": KEY}}}


def quiet_for(servers, seconds):
    """No request reaches any of `servers` for `seconds` (a bounded negative check)."""
    before = [len(s.requests) for s in servers]
    time.sleep(seconds)
    return [len(s.requests) for s in servers] == before


def test_given_neither_flush_at_nor_flush_interval_the_radio_decides(tmp_path):
    analytics = Analytics(storage_dir=tmp_path / "a", settings=SETTINGS)
    assert [type(p) for p in analytics.flush_policies.policies] == [RadioFlushPolicy]
    assert analytics.flush_interval == 300.0  # the documented default max_delay
    analytics.shutdown(1)
    given = Analytics(storage_dir=tmp_path / "b", settings=SETTINGS, flush_at=5)
    assert [type(p) for p in given.flush_policies.policies] == [CountFlushPolicy, FrequencyFlushPolicy,
                                                                 BackgroundFlushPolicy]
    assert given.flush_policies.policies[0].flush_at == 5 and given.flush_interval == 30.0
    given.shutdown(1)
    with pytest.raises(ValueError):
        RadioFlushPolicy(max_delay=0)


def test_one_wake_up_carries_both_legs(tmp_path, fake_statsig, fake_segment_cdn):
    fake_segment_cdn.set_settings("wk", {"integrations": {"Statsig": {"apiKey": KEY}}})
    fake_statsig.set_gate("new_checkout", True)
    analytics = Analytics("wk", storage_dir=tmp_path, cdn_url=fake_segment_cdn.url, api_url=fake_segment_cdn.api_url)
    statsig = analytics.add(StatsigDestination(api_url=fake_statsig.url))
    # A short radio for the test: the launch's settings request is past its tail soon.
    analytics.radio.tail, analytics.radio.window = 0.3, 0.1
    assert analytics._settings_ready.wait(5)
    time.sleep(0.4)
    for i in range(5):
        analytics.track("Held", {"i": i})
    assert quiet_for([fake_statsig, fake_segment_cdn], 0.6)  # held: max_delay is minutes
    woke = time.time()
    statsig.check_gate("new_checkout")  # the values thread's initialize wakes the radio
    assert fake_statsig.wait_for_events(5, timeout=5)
    assert fake_segment_cdn.wait_for_batches(1, timeout=5)
    assert sorted(e["properties"]["i"] for e in fake_segment_cdn.cloud_events) == list(range(5))
    sent = [r.received_at - woke for r in fake_statsig.requests + fake_segment_cdn.requests
            if r.received_at >= woke]
    assert usage(sent).wakeups == 1, sent  # initialize, both legs' events: one wake-up
    assert max(sent) < 2.0
    analytics.shutdown(2)


def test_the_apps_own_traffic_carries_what_is_pending(tmp_path, fake_statsig):
    analytics = Analytics(storage_dir=tmp_path, settings=SETTINGS)
    analytics.add(StatsigDestination(api_url=fake_statsig.url))
    for i in range(3):
        analytics.track("Piggyback", {"i": i})
    assert quiet_for([fake_statsig], 0.5)
    analytics.network_active()  # the app's request just woke the radio
    assert fake_statsig.wait_for_events(3, timeout=5)
    assert len(fake_statsig.event_requests) == 1
    # Made right after, within the wake-up's window: it rides on it too.
    analytics.track("Right After")
    assert fake_statsig.wait_for_events(4, timeout=5)
    analytics.shutdown(2)


def test_offline_is_quiet_and_everything_goes_once_when_back(tmp_path, fake_statsig):
    # An eager schedule, to show that offline overrides it: no request, no retry.
    analytics = Analytics(storage_dir=tmp_path, settings=SETTINGS, flush_at=1, flush_interval=0.05)
    destination = analytics.add(StatsigDestination(api_url=fake_statsig.url, retry_base=0.02, retry_max=0.1))
    try:  # (offline holds every request of the process: the Analytics is shut down whatever happens)
        analytics.track("Online")
        assert fake_statsig.wait_for_events(1, timeout=5)
        analytics.network_available(False)
        for i in range(6):
            analytics.track("Offline", {"i": i})
        analytics.flush()
        assert quiet_for([fake_statsig], 1.0)
        assert destination.stats.retried == 0
        analytics.network_available(True)
        assert fake_statsig.wait_for_events(7, timeout=5)
        assert quiet_for([fake_statsig], 0.3)
        assert len(fake_statsig.event_requests) == 2  # one before, one after: no retry storm
        assert sorted(int(e["metadata"]["i"]) for e in fake_statsig.events[1:]) == list(range(6))
        with pytest.raises(TypeError):
            analytics.network_available("no")
    finally:
        analytics.shutdown(2)


def test_max_delay_is_honoured_in_a_long_foreground_session(tmp_path, fake_statsig):
    analytics = Analytics(storage_dir=tmp_path, settings=SETTINGS, flush_policies=[RadioFlushPolicy(max_delay=1.0)])
    analytics.add(StatsigDestination(api_url=fake_statsig.url))
    made = {}
    start = time.monotonic()
    i = 0
    while time.monotonic() - start < 3.5:  # an event every 0.1 s
        analytics.track("Paced", {"i": i})
        made[str(i)] = time.time()
        i += 1
        time.sleep(0.1)
    assert fake_statsig.wait_for_events(i, timeout=5)
    # Each event within max_delay of its call (plus the send), never sooner than it had to.
    for request in fake_statsig.event_requests:
        waited = [request.received_at - made[e["metadata"]["i"]] for e in request.events]
        assert max(waited) < 1.0 + 0.6, waited
    # At most one request per max_delay: 3.5 s of calls, ~4 batches.
    assert 3 <= len(fake_statsig.event_requests) <= 5
    analytics.shutdown(2)


CHILD = textwrap.dedent("""
    import sys, time
    from segment_statsig import Analytics, StatsigDestination
    folder, url, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    analytics = Analytics(storage_dir=folder, settings={"integrations": {"Statsig": {"apiKey": "%s"}}})
    analytics.add(StatsigDestination(api_url=url))
    for i in range(n):
        analytics.track("Held Then Killed", {"i": i})
    print("made", flush=True)
    time.sleep(60)
""" % KEY)


def test_nothing_is_lost_on_kill_9_while_events_are_held(tmp_path, fake_statsig):
    folder = str(tmp_path / "store")
    child = subprocess.Popen([sys.executable, "-c", CHILD, folder, fake_statsig.url, "40"],
                             stdout=subprocess.PIPE, env=os.environ.copy())
    try:
        ready, _, _ = select.select([child.stdout], [], [], 20)
        assert ready and child.stdout.readline().strip() == b"made"
        time.sleep(0.3)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        child.stdout.close()
    assert not fake_statsig.events  # held when it died
    analytics = Analytics(storage_dir=folder, settings=SETTINGS)
    analytics.add(StatsigDestination(api_url=fake_statsig.url))
    assert analytics.flush(timeout=10)
    assert sorted(int(e["metadata"]["i"]) for e in fake_statsig.events) == list(range(40))
    analytics.shutdown(2)
