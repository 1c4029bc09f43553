"""Hardening: hostile values and timestamps never raise anything but ValueError/TypeError on
the caller's thread and are never accepted and then dropped; an app that seeds `random`
does not make message ids repeat."""
import decimal
import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segment_statsig import Analytics, DestinationPlugin, StatsigDestination

KEY = "client-test-key-0123456789"


# --- 5, 6: bad values and timestamps, property-based ------------------------------------
class Recorder(DestinationPlugin):
    key = "Recorder"

    def __init__(self):
        super().__init__()
        self.seen = []

    def track(self, event):
        self.seen.append(event["properties"].get("seq"))
        return event


class BadLt:
    def __lt__(self, other):
        raise ZeroDivisionError("no order")

    def __hash__(self):
        return 1


class BadItems(dict):
    def items(self):
        raise RuntimeError("items() broke")

    def keys(self):
        raise RuntimeError("keys() broke")


class BadIter(list):
    def __iter__(self):
        raise RuntimeError("__iter__ broke")


class BadMapping:
    """A Mapping by registration whose every read raises."""

    def __getitem__(self, key):
        raise KeyError(key)

    def __iter__(self):
        raise RuntimeError("no")

    def __len__(self):
        raise OverflowError("no")


import collections.abc  # noqa: E402

collections.abc.Mapping.register(BadMapping)

hostile_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=10),
    st.decimals(allow_nan=True, allow_infinity=True), st.builds(BadLt), st.just(decimal.Decimal("sNaN")),
    st.builds(lambda: BadItems(a=1)), st.builds(lambda: BadIter([1, 2])),
    st.builds(lambda: {decimal.Decimal("NaN"), decimal.Decimal(1)}), st.builds(lambda: {BadLt(), BadLt()}),
    st.builds(lambda: frozenset({BadLt(), 1})), st.builds(BadMapping))
hostile = st.recursive(hostile_leaves, lambda c: st.one_of(
    st.lists(c, max_size=3), st.dictionaries(st.text(max_size=5), c, max_size=3), st.lists(c, max_size=2).map(tuple)),
    max_leaves=8)
timestamps = st.one_of(
    st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.just(10 ** 400), st.just(-(10 ** 400)), st.just(2 ** 63), st.just(1e20), st.just(1.7e12),
    st.sampled_from(["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "1969-12-31T23:59:59Z", "2024-05-01",
                     "2024-13-01T00:00:00Z", "not a time", "", "2024-05-01T12:00:00+25:00"]),
    st.datetimes(), st.decimals(allow_nan=True, allow_infinity=True, places=3), st.booleans())


@pytest.fixture(scope="module")
def shared_client(tmp_path_factory):
    analytics = Analytics(storage_dir=tmp_path_factory.mktemp("hostile"), settings={"integrations": {}},
                          flush_interval=0.05)
    recorder = analytics.add(Recorder())
    statsig = analytics.add(StatsigDestination(KEY, api_url="http://127.0.0.1:9/v1", flush_at=10 ** 6,
                                               flush_interval=3600))
    yield analytics, recorder, statsig
    analytics.shutdown(0.5)


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(properties=st.one_of(hostile, st.dictionaries(st.text(max_size=5), hostile, max_size=4), st.builds(BadMapping),
                            st.builds(lambda: BadItems(a=1))),
       context=st.none() | st.dictionaries(st.text(max_size=5), hostile, max_size=2), timestamp=timestamps,
       seq=st.integers(0, 10 ** 9))
def test_hostile_values_and_timestamps_raise_only_value_or_type_errors_and_are_never_dropped(
        shared_client, properties, context, timestamp, seq):
    analytics, recorder, statsig = shared_client
    if isinstance(properties, dict) and type(properties) is dict:
        properties = {**properties, "seq": seq}
    assert analytics.worker.wait_processed(time.monotonic() + 10)
    before, queued = len(recorder.seen), statsig.stats.snapshot()["queued"] + len(statsig._pending)
    try:
        analytics.track("Hostile", properties, context=context, timestamp=timestamp)
    except (ValueError, TypeError) as error:
        assert str(error)
        return
    except BaseException as error:  # noqa: B902 - the point of the test
        pytest.fail(f"track() raised {type(error).__name__}: {error!r}")
    assert analytics.worker.wait_processed(time.monotonic() + 10)
    assert len(recorder.seen) == before + 1, "accepted, then dropped by the timeline"
    statsig.commit()
    stats = statsig.stats.snapshot()
    assert stats["queued"] >= queued + 1, ("accepted, then dropped by the Statsig mapping", queued, stats,
                                           len(statsig._pending), analytics.worker.quarantined)
    if type(properties) is dict:
        assert recorder.seen[-1] == seq


@pytest.mark.parametrize("timestamp", [math.nan, math.inf, -math.inf, 1e20, 2 ** 63, 10 ** 400, 1.7e12,
                                       "10000-01-01T00:00:00Z"])
def test_timestamps_that_cannot_be_delivered_are_refused_on_the_callers_thread(tmp_path, timestamp):
    analytics = Analytics(storage_dir=tmp_path, settings={"integrations": {}})
    try:
        with pytest.raises(ValueError, match="timestamp"):
            analytics.track("When", timestamp=timestamp)
    finally:
        analytics.shutdown(0.5)


@pytest.mark.parametrize("timestamp,iso", [("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"),
                                           ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"),
                                           (-1.5, "1969-12-31T23:59:58.500Z"), (0, "1970-01-01T00:00:00.000Z")])
def test_timestamps_at_the_edges_are_delivered_as_given(make_client, fake_statsig, timestamp, iso):
    from segment_statsig.analytics.events import unix_ms

    analytics, _ = make_client()
    analytics.track("Edge", timestamp=timestamp)
    assert analytics.flush(timeout=10)
    (event,) = fake_statsig.events
    assert event["time"] == unix_ms(iso)


def test_an_app_that_seeds_random_does_not_repeat_message_ids(make_client, fake_segment_cdn, tmp_path):
    import random

    ids = []
    for run in range(2):
        random.seed(1234)  # what a game does at each launch
        analytics = Analytics(storage_dir=tmp_path / f"run{run}", settings={"integrations": {}})
        seen = analytics.add(Recorder())
        seen.ids = []
        seen.track = lambda event, seen=seen: seen.ids.append(event["messageId"]) or event
        analytics.track("Launched")
        assert analytics.flush(timeout=5)
        ids += seen.ids
        analytics.shutdown(1)
    assert len(ids) == 2 and ids[0] != ids[1]


def test_an_app_that_seeds_random_does_not_fix_backoff_jitter_or_sampling():
    # Devices that seed random alike at launch would retry in step after an outage (the
    # herd jitter exists to spread) and sample the same events (a biased sample).
    import random

    from segment_statsig.delivery.policy import backoff_delay
    from segment_statsig.filters.sampling import standard_random

    def draws():
        random.seed(99)
        return [backoff_delay(attempt, 1.0, 60.0) for attempt in range(1, 6)] + [standard_random() for _ in range(5)]

    first, second = draws(), draws()
    assert all(a != b for a, b in zip(first, second))
