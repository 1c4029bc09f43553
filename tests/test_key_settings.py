"""A Statsig key in the wrong place of the settings: the destination says so once, at
WARNING, naming where it looked and the near miss it found; ready(), not_ready_reason,
stats.last_error and values_error say it too; events stay queued for a key."""
import logging

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from segment_statsig import Analytics, StatsigDestination

KEY = "client-key-settings-test"
LOOKED = "settings['integrations']['Statsig']['apiKey']"

MISPLACED = [
    ({"integrations": {"statsig": {"apiKey": KEY}}}, "settings['integrations']['statsig']"),
    ({"integrations": {"Statsig": {"api_key": KEY}}}, "settings['integrations']['Statsig']['api_key']"),
    ({"Statsig": {"apiKey": KEY}}, "settings['Statsig'] (outside 'integrations')"),
    ({"integrations": {"STATSIG": {"api_key": KEY}}}, "settings['integrations']['STATSIG']['api_key']"),
    ({"integrations": {"Statsig": True}}, "settings['integrations']['Statsig'] holding bool"),
]


def statsig_warnings(caplog):
    return [r for r in caplog.records if r.name == "segment_statsig" and r.levelno >= logging.WARNING]


@pytest.mark.parametrize("settings, near_miss", MISPLACED, ids=[m[1] for m in MISPLACED])
def test_a_misplaced_key_is_named_once_at_warning(settings, near_miss, tmp_path, fake_statsig, caplog):
    caplog.set_level(logging.DEBUG)
    analytics = Analytics(storage_dir=tmp_path / "s", settings=settings)
    dest = analytics.add(StatsigDestination(api_url=fake_statsig.url))
    try:
        analytics.track("Login Button Clicked")
        dest.check_gate("g")
        analytics._apply_settings(settings)  # a settings refresh with the same mistake: not said again
        assert analytics.flush(timeout=0.5) is False
        warnings = statsig_warnings(caplog)
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        message = warnings[0].getMessage()
        assert warnings[0].levelno == logging.WARNING
        assert LOOKED in message and near_miss in message and KEY not in message
        assert dest.ready() is False
        assert dest.not_ready_reason and LOOKED in dest.not_ready_reason and near_miss in dest.not_ready_reason
        assert dest.stats.last_error == dest.not_ready_reason
        assert dest.values_error == dest.not_ready_reason
        assert fake_statsig.requests == []
        assert dest.queue_depth == 2  # the track and the gate's exposure: kept for a key, not dropped
        # the key in its place (a later settings refresh): the queued event goes out
        analytics._apply_settings({"integrations": {"Statsig": {"apiKey": KEY}}})
        assert dest.ready() and dest.not_ready_reason is None
        assert analytics.flush(timeout=5) is True
        assert [e["eventName"] for e in fake_statsig.events] == ["segment_track:Login Button Clicked",
                                                                 "statsig::gate_exposure"]
    finally:
        analytics.shutdown(1)


def test_no_statsig_block_at_all_says_where_it_looked(tmp_path, caplog):
    analytics = Analytics(storage_dir=tmp_path / "s", settings={"integrations": {"Segment.io": {}}})
    dest = analytics.add(StatsigDestination())
    try:
        [warning] = statsig_warnings(caplog)
        assert LOOKED in warning.getMessage() and "found instead" not in warning.getMessage()
        assert dest.not_ready_reason == dest.stats.last_error
    finally:
        analytics.shutdown(1)


def test_a_refused_key_from_settings_is_the_reason(tmp_path, caplog):
    analytics = Analytics(storage_dir=tmp_path / "s", settings={"integrations": {"Statsig": {"apiKey": "secret-x"}}})
    dest = analytics.add(StatsigDestination())
    try:
        [error] = statsig_warnings(caplog)
        assert error.levelno == logging.ERROR and "server secret" in error.getMessage()
        assert not dest.ready() and "server secret" in dest.not_ready_reason
    finally:
        analytics.shutdown(1)


def test_before_any_settings_the_reason_says_it_waits(tmp_path):
    dest = StatsigDestination()
    assert not dest.ready() and "waiting for the settings" in dest.not_ready_reason


_CASES = st.sampled_from(["statsig", "STATSIG", "StatSig", "statSig", "sTatsig"])
_KEYS = st.sampled_from(["api_key", "apikey", "APIKey", "ApiKey", "api-key", "API_KEY"])


@hsettings(max_examples=60, deadline=None)
@given(name=_CASES, field=_KEYS, nested=st.booleans())
def test_any_near_miss_spelling_is_named(name, field, nested):
    """Each spelling of the block and field that differs from Segment's only in case,
    '_' or '-' is named in the reason; the key is not repeated."""
    settings = {"integrations": {name: {field: KEY}}} if nested else {name: {field: KEY}}
    dest = StatsigDestination()
    dest.update(settings, "initial")
    reason = dest.not_ready_reason
    assert not dest.ready() and KEY not in reason
    assert repr(name) in reason and repr(field) in reason
