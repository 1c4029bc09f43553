"""Flush policies, analytics-kotlin's FlushPolicy contract: each decides when what is
pending goes out; `flush_policies=[...]` replaces the built-in rule, of which
flush_at / flush_interval are the shorthand. Over the loopback fake Statsig."""
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segment_statsig import (Analytics, BackgroundFlushPolicy, CountFlushPolicy, FlushPolicy,
                             FrequencyFlushPolicy, StartupFlushPolicy)

from .waiting import wait_until


def names(fake):
    return [e["eventName"].split(":", 1)[1] for e in fake.events]


def stays_unsent(fake, seconds=0.4):
    """Nothing arrives within `seconds` (a bounded negative check)."""
    return not fake.wait_for_events(1, timeout=seconds)


class FlushOnPurchase(FlushPolicy):
    """The README's custom policy: send at once when an order completes."""

    def __init__(self):
        self.seen = False

    def update_state(self, event):
        self.seen = self.seen or event.get("event") == "Order Completed"

    def should_flush(self):
        return self.seen

    def reset(self):
        self.seen = False


def test_the_shorthand_makes_count_frequency_and_background(tmp_path):
    analytics = Analytics(storage_dir=tmp_path, flush_at=7, flush_interval=12.5)
    policies = analytics.flush_policies.policies
    assert [type(p) for p in policies] == [CountFlushPolicy, FrequencyFlushPolicy, BackgroundFlushPolicy]
    assert policies[0].flush_at == 7 and policies[1].flush_interval == 12.5
    analytics.shutdown(1)


def test_a_custom_policy_flushes_on_its_event(make_client, fake_statsig):
    analytics, _ = make_client(flush_policies=[CountFlushPolicy(1000), FrequencyFlushPolicy(3600), FlushOnPurchase()])
    analytics.track("Product Viewed")
    assert stays_unsent(fake_statsig)
    analytics.track("Order Completed")
    assert fake_statsig.wait_for_events(2, timeout=5)  # no flush() asked
    assert names(fake_statsig) == ["Product Viewed", "Order Completed"]
    assert len(fake_statsig.event_requests) == 1


def test_count_policy_alone(make_client, fake_statsig):
    analytics, _ = make_client(flush_policies=[CountFlushPolicy(3)])
    analytics.track("One")
    analytics.track("Two")
    assert stays_unsent(fake_statsig)
    analytics.track("Three")
    assert fake_statsig.wait_for_events(3, timeout=5)
    assert names(fake_statsig) == ["One", "Two", "Three"]


def test_frequency_policy_alone_sends_a_part_batch(make_client, fake_statsig):
    analytics, _ = make_client(flush_policies=[FrequencyFlushPolicy(0.2)])
    started = time.monotonic()
    analytics.track("Lonely")
    assert fake_statsig.wait_for_events(1, timeout=5)
    assert time.monotonic() - started >= 0.15


def test_startup_policy_flushes_the_first_pass_only(make_client, fake_statsig):
    analytics, _ = make_client(flush_policies=[StartupFlushPolicy()])
    analytics.track("At Launch")
    assert fake_statsig.wait_for_events(1, timeout=5)
    analytics.track("Later")
    assert stays_unsent_beyond(fake_statsig, 1)
    assert analytics.flush(timeout=5)
    assert names(fake_statsig) == ["At Launch", "Later"]


def stays_unsent_beyond(fake, n, seconds=0.4):
    return not fake.wait_for_events(n + 1, timeout=seconds)


def test_background_sends_only_with_the_background_policy(make_client, fake_statsig, tmp_path):
    analytics, _ = make_client(flush_policies=[CountFlushPolicy(1000)])
    analytics.track("Kept For Later")
    analytics.on_background()
    assert stays_unsent(fake_statsig)
    assert analytics.shutdown(5)
    assert names(fake_statsig) == ["Kept For Later"]
    fake_statsig.clear()
    again, _ = make_client(storage_dir=tmp_path / "other", flush_policies=[CountFlushPolicy(1000), BackgroundFlushPolicy()])
    again.track("Sent At Background")
    again.on_background()
    assert fake_statsig.wait_for_events(1, timeout=5)


def test_a_policy_that_raises_is_logged_and_ignored(make_client, fake_statsig, log_records):
    class Broken(FlushPolicy):
        def schedule(self, analytics):
            raise RuntimeError("schedule broke")

        def update_state(self, event):
            raise RuntimeError("update broke")

        def should_flush(self):
            raise RuntimeError("should_flush broke")

        def reset(self):
            raise RuntimeError("reset broke")

    analytics, _ = make_client(flush_policies=[Broken(), CountFlushPolicy(2)])
    analytics.track("A")
    analytics.track("B")  # the count policy still decides
    assert fake_statsig.wait_for_events(2, timeout=5)
    # reset() follows the flush on the timeline's thread, maybe after Statsig has the events.
    wanted = [f"flush policy Broken failed in {what}()" for what in ("schedule", "update_state", "should_flush", "reset")]
    wait_until(lambda: all(w in log_records.text for w in wanted))
    assert [w for w in wanted if w not in log_records.text] == []


def test_schedule_and_unschedule_frame_the_analytics_life(tmp_path):
    calls = []

    class Watch(FlushPolicy):
        prompt = False

        def schedule(self, analytics):
            calls.append(("schedule", analytics))

        def unschedule(self):
            calls.append(("unschedule", threading.current_thread().name))

    analytics = Analytics(storage_dir=tmp_path, flush_policies=[Watch()])
    assert calls == [("schedule", analytics)]
    analytics.shutdown(1)
    assert [c[0] for c in calls] == ["schedule", "unschedule"]


def test_bad_policies_are_programmer_errors(tmp_path):
    with pytest.raises(TypeError):
        Analytics(storage_dir=tmp_path, flush_policies=[object()])
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError):
            CountFlushPolicy(bad)
    for bad in (0, -2, float("nan"), True):
        with pytest.raises(ValueError):
            FrequencyFlushPolicy(bad)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 20), st.lists(st.sampled_from(["event", "reset"]), max_size=60))
def test_count_policy_says_flush_once_n_events_since_the_last_reset(n, steps):
    policy = CountFlushPolicy(n)
    since = 0
    for step in steps:
        if step == "event":
            policy.update_state({"type": "track", "event": "E"})
            since += 1
        else:
            policy.reset()
            since = 0
        assert policy.should_flush() is (since >= n)


def test_startup_and_background_policies_by_the_contract():
    startup = StartupFlushPolicy()
    assert [startup.should_flush() for _ in range(3)] == [True, False, False]
    background = BackgroundFlushPolicy()
    assert background.should_flush() is False
    background.app_backgrounded()
    assert background.should_flush() is True
    background.reset()
    assert background.should_flush() is False
    assert FrequencyFlushPolicy(5).should_flush() is False  # its timer flushes, as analytics-kotlin's
