"""The radio model (delivery/radio_model.py): request times in, wake-ups, high-power
seconds and joules out, by AT&T ARO's LTE parameters."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segment_statsig.delivery.radio_model import LTE, usage

ONE_WAKE = LTE.promotion + LTE.tail
ONE_WAKE_J = LTE.promotion * LTE.promotion_watts + LTE.tail * LTE.tail_watts


def test_the_lte_parameters_and_their_source():
    assert (LTE.promotion, LTE.promotion_watts, LTE.tail, LTE.tail_watts) == (0.26, 1.21, 10.12, 1.06)
    assert "lte.conf" in LTE.describe() and "10.12 s at 1.06 W" in LTE.describe()


def test_one_request_is_one_wake_up_its_promotion_and_its_tail():
    used = usage([5.0])
    assert used.wakeups == 1
    assert used.high_power_seconds == pytest.approx(10.38)
    assert used.joules == pytest.approx(0.26 * 1.21 + 10.12 * 1.06)
    assert used.spells == [(5.0, pytest.approx(5.26), pytest.approx(15.38))]


def test_a_request_in_the_tail_wakes_nothing_and_starts_the_tail_again():
    used = usage([0.0, 4.0])
    assert used.wakeups == 1
    assert used.high_power_seconds == pytest.approx(4.0 + 10.12)  # from 0 to 4 + the tail
    apart = usage([0.0, 30.0])
    assert apart.wakeups == 2 and apart.high_power_seconds == pytest.approx(2 * ONE_WAKE)


def test_a_request_every_ten_seconds_keeps_the_radio_up():
    used = usage([10.0 * i for i in range(18)])  # 3 minutes
    assert used.wakeups == 1
    assert used.high_power_seconds == pytest.approx(170 + LTE.tail)  # the last request plus its tail


def test_durations_keep_the_radio_up_through_the_transfer():
    used = usage([(0.0, 2.0)])
    assert used.high_power_seconds == pytest.approx(0.26 + 2.0 + 10.12)


def test_per_hour_scales_a_session():
    wakeups, seconds, joules = usage([0.0, 150.0]).per_hour(180.0)
    assert wakeups == pytest.approx(40) and seconds == pytest.approx(40 * ONE_WAKE)
    assert joules == pytest.approx(40 * ONE_WAKE_J)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 3600, allow_nan=False), max_size=40), st.floats(0, 3600, allow_nan=False))
def test_costs_never_fall_when_a_request_is_added(times, extra):
    before, after = usage(times), usage(times + [extra])
    assert before.wakeups <= after.wakeups <= before.wakeups + 1
    assert after.high_power_seconds >= before.high_power_seconds - 1e-9
    assert after.joules >= before.joules - 1e-9
    # each wake-up costs at least its promotion and tail, and never more than the whole span
    assert after.high_power_seconds >= after.wakeups * ONE_WAKE - 1e-9
    assert after.wakeups <= len(times) + 1
    assert after.high_power_seconds <= len(times + [extra]) * ONE_WAKE + 1e-9
