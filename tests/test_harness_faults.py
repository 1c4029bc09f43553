"""The fake Statsig's waiting, hooks and faults: statuses, Retry-After, offline, delays, dropped connections, non-JSON."""
import threading
import time

import pytest
import requests

from segment_statsig.testing import FakeStatsig

from .harness_posts import KEY, events, post


# -- waiting and hooks ------------------------------------------------------------------------

def test_wait_for_events_is_bounded(fake_statsig):
    t0 = time.monotonic()
    assert fake_statsig.wait_for_events(1, timeout=0.2) is False
    assert time.monotonic() - t0 < 2

    def later():
        post(fake_statsig, body=events("late"))
    threading.Timer(0.1, later).start()
    assert fake_statsig.wait_for_events(1, timeout=5) is True


def test_on_request_hook_sees_each_record(fake_statsig):
    seen = []
    fake_statsig.on_request(lambda rec: seen.append((rec.path, rec.status)))
    post(fake_statsig)
    post(fake_statsig, raw=b"junk")
    assert fake_statsig.wait_for_requests(2, 5)
    assert seen == [("/v1/log_event", 202), ("/v1/log_event", 400)]


def test_broken_hook_is_reported_not_fatal():
    with FakeStatsig() as fake:
        fake.on_request(lambda rec: 1 / 0)
        assert post(fake).status_code == 202
        with pytest.raises(AssertionError, match="ZeroDivisionError"):
            fake.check_assertions()


# -- faults -------------------------------------------------------------------------------------

def test_status_sequence_then_normal_with_retry_after(fake_statsig):
    fake_statsig.respond_with_statuses([503, 429, 200], retry_after=7)
    r1, r2, r3, r4 = (post(fake_statsig, body=events(f"e{i}")) for i in range(4))
    assert (r1.status_code, r1.headers["Retry-After"]) == (503, "7")
    assert (r2.status_code, r2.headers["Retry-After"]) == (429, "7")
    assert r3.status_code == 200 and "Retry-After" not in r3.headers
    assert r4.status_code == 202
    assert [e["eventName"] for e in fake_statsig.events] == ["e2", "e3"]
    assert [r.status for r in fake_statsig.requests] == [503, 429, 200, 202]
    assert fake_statsig.requests[0].body == events("e0")  # refused bodies are still logged


def test_final_4xx_status(fake_statsig):
    fake_statsig.respond_with_statuses([400])
    assert post(fake_statsig).status_code == 400
    assert fake_statsig.events == []


def test_offline_answers_503_until_back(fake_statsig):
    fake_statsig.set_offline(True)
    assert post(fake_statsig).status_code == 503
    assert requests.post(fake_statsig.url + f"/initialize?k={KEY}", json={}, timeout=5).status_code == 503
    assert fake_statsig.events == []
    fake_statsig.set_offline(False)
    assert post(fake_statsig).status_code == 202
    assert len(fake_statsig.events) == 1


def test_delay_longer_than_client_timeout(fake_statsig):
    fake_statsig.delay_next(0.8)
    t0 = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        post(fake_statsig, body=events("slow"), timeout=0.3)
    assert time.monotonic() - t0 < 0.7
    assert fake_statsig.wait_for_requests(1, timeout=5)
    rec = fake_statsig.requests[0]
    assert rec.status is None and "closed" in rec.error and rec.fault == "delay"
    assert fake_statsig.events == []  # the client never saw a 2xx
    assert post(fake_statsig, body=events("next")).status_code == 202  # the next one is normal


def test_delay_shorter_than_client_timeout_is_answered(fake_statsig):
    fake_statsig.delay_next(0.3)
    t0 = time.monotonic()
    assert post(fake_statsig, body=events("slow"), timeout=5).status_code == 202
    assert time.monotonic() - t0 >= 0.3
    assert [e["eventName"] for e in fake_statsig.events] == ["slow"]


def test_delayed_request_does_not_block_other_requests(fake_statsig):
    fake_statsig.delay_next(1.0)
    slow = threading.Thread(target=lambda: post(fake_statsig, body=events("slow"), timeout=5))
    slow.start()
    assert fake_statsig.wait_for_faults_used(5)  # the slow request holds the delay
    t0 = time.monotonic()
    assert post(fake_statsig, body=events("fast")).status_code == 202
    assert time.monotonic() - t0 < 0.8
    slow.join(5)
    assert [e["eventName"] for e in fake_statsig.events] == ["fast", "slow"]


def test_stop_does_not_wait_for_a_long_delay():
    fake = FakeStatsig().start()
    fake.delay_next(30)
    t = threading.Thread(target=lambda: _swallow(lambda: post(fake, timeout=0.2)))
    t.start()
    t.join(5)
    t0 = time.monotonic()
    fake.stop()
    assert time.monotonic() - t0 < 5


def _swallow(fn):
    try:
        fn()
    except requests.RequestException:
        pass


def test_drop_next_connection(fake_statsig):
    fake_statsig.drop_next_connection()
    with pytest.raises(requests.exceptions.ConnectionError):
        post(fake_statsig, body=events("lost"))
    rec = fake_statsig.requests[0]
    assert rec.status is None and rec.fault == "drop" and rec.body == events("lost")
    assert fake_statsig.events == []
    assert post(fake_statsig, body=events("next")).status_code == 202


def test_answer_non_json_next(fake_statsig):
    fake_statsig.answer_non_json_next()
    r = post(fake_statsig, body=events("x"))
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    assert fake_statsig.events == []
    assert post(fake_statsig).json() == {"success": True}


def test_faults_queue_in_order(fake_statsig):
    fake_statsig.respond_with_statuses([500])
    fake_statsig.drop_next_connection()
    fake_statsig.answer_non_json_next()
    assert post(fake_statsig).status_code == 500
    with pytest.raises(requests.exceptions.ConnectionError):
        post(fake_statsig)
    assert post(fake_statsig).headers["Content-Type"].startswith("text/html")
    assert post(fake_statsig).status_code == 202
    assert fake_statsig.pending_faults == 0


def test_clear_forgets_everything(fake_statsig):
    post(fake_statsig)
    fake_statsig.respond_with_statuses([503])
    fake_statsig.set_offline(True)
    fake_statsig.clear()
    assert fake_statsig.requests == [] and fake_statsig.events == []
    assert post(fake_statsig).status_code == 202
