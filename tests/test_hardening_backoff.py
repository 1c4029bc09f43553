"""Hardening: flush() never beats the backoff, and retry_now() ends a backoff step but not a
server's Retry-After."""
import time


# --- 11: flush() and backoff -------------------------------------------------------------
def test_flush_during_an_outage_makes_at_most_one_attempt_per_backoff_step(make_client, fake_statsig, monkeypatch):
    # Full jitter draws each step in [0, 0.4 s]; drawn at its longest, every step is 0.4 s
    # and the count is exact (with real draws the count is a random variable: 16 draws
    # under ~2 s, rare, failed CI once).
    from segment_statsig.delivery import policy

    monkeypatch.setattr(policy._jitter, "uniform", lambda low, high: high)
    fake_statsig.set_offline(True)
    analytics, destination = make_client(dest_options={"retry_base": 0.4, "retry_max": 0.4})
    analytics.track("Waiting")
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        analytics.flush()
        time.sleep(0.05)
    requests = fake_statsig.event_requests
    # 40 flush() calls; 0.4 s backoff steps: each step allows one attempt, ~6 in 2 s.
    gaps = [b.received_at - a.received_at for a, b in zip(requests, requests[1:])]
    assert 3 <= len(requests) <= 7, len(requests)
    assert all(g >= 0.35 for g in gaps), gaps
    # Every attempt is a counted retry (the one answered as the list was read may not be
    # counted yet, and one more may have gone since).
    assert len(requests) - 1 <= destination.stats.snapshot()["retried"] <= len(requests) + 1
    fake_statsig.set_offline(False)
    assert analytics.flush(timeout=5)
    assert len(fake_statsig.events) == 1


def test_after_a_429_flush_waits_for_the_backoff_as_the_docs_say(make_client, fake_statsig):
    fake_statsig.respond_with_statuses([429])
    analytics, destination = make_client(dest_options={"retry_base": 0.5, "retry_max": 0.5})
    analytics.track("Limited")
    assert fake_statsig.wait_for_requests(1, timeout=5) if analytics.flush() is None else True
    for _ in range(10):
        analytics.flush()
    assert analytics.flush(timeout=5)
    assert [r.status for r in fake_statsig.event_requests] == [429, 202]


def test_retry_now_ends_the_backoff_step_but_not_a_servers_retry_after(make_client, fake_statsig):
    fake_statsig.respond_with_statuses([503])
    analytics, destination = make_client(dest_options={"retry_base": 3600, "retry_max": 3600})
    analytics.track("Back Online")
    analytics.flush()
    assert fake_statsig.wait_for_requests(1, timeout=5)
    assert not analytics.flush(timeout=0.3)  # an hour's backoff: flush() waits for it
    destination.retry_now()                 # the network is back
    assert analytics.flush(timeout=5)
    assert [r.status for r in fake_statsig.event_requests] == [503, 202]
    fake_statsig.respond_with_statuses([429], retry_after=30)
    analytics.track("Held")
    analytics.flush()
    assert fake_statsig.wait_for_requests(3, timeout=5)
    destination.retry_now()
    assert not analytics.flush(timeout=0.5)  # the server asked for 30 s
    assert len(fake_statsig.event_requests) == 3


# --- a flush asks for what is queued at that moment ----------------------------------------
def test_a_flush_asked_with_nothing_queued_does_not_send_the_next_events_early():
    # A key arriving from settings asks for a flush (to send what waited for it); when
    # nothing waited, the next events must still wait for their batch, however late the
    # delivery thread gets to run (under load it ran after the timeline had stored the
    # first event, which then went out alone: recordings failed on the batching).
    from segment_statsig.delivery.http import SendResult
    from segment_statsig.delivery.stats import DeliveryStats
    from segment_statsig.delivery.worker import Delivery
    from segment_statsig.storage.memory_queue import MemoryQueue

    queue, sent = MemoryQueue(1000, 1 << 20), []
    delivery = Delivery("t", lambda: queue, lambda texts: sent.append(texts) or SendResult(202), lambda: True,
                        DeliveryStats(), lambda *_: None, flush_at=100, flush_interval=3600.0, max_batch_size=100,
                        retry_base=0.05, retry_max=0.1)
    delivery.request_flush()  # nothing queued: the delivery thread has not even started
    queue.put_many([(f"id-{i}", '{"i":%d}' % i) for i in range(3)])
    delivery.start()
    try:
        time.sleep(0.3)  # what a late thread would do with a stale request, it does by now
        assert sent == []
        delivery.request_flush()  # with three queued: they go, together
        with delivery.idle:
            assert delivery.idle.wait_for(lambda: sent, 5)
        assert [len(batch) for batch in sent] == [3]
    finally:
        assert delivery.stop(5)
