"""The demo's event log model: each Segment call paired with the Statsig event it
became and that event's delivery state, fed as the real client feeds it."""
from segment_statsig import Analytics, StatsigDestination

from demo_app.eventlog import EventLog, EventObserver

KEY = "client-eventlog-test"


def statsig_event(name, **metadata):
    return {"eventName": name, "user": {"customIDs": {"stableID": "abc"}}, "time": 1, "metadata": metadata}


def test_a_call_is_paired_with_its_statsig_event_and_follows_its_delivery():
    log = EventLog()
    log.observe({"type": "track", "event": "Login Button Clicked", "properties": {"method": "email"}})
    event = statsig_event("segment_track:Login Button Clicked", method="email")
    log.listener("queued", [event], None)
    (row,) = log.rows()
    assert row["call_text"] == "track  Login Button Clicked"
    assert row["statsig_text"] == "segment_track:Login Button Clicked"
    assert row["state_text"] == "queued" and '"method": "email"' in row["metadata_text"]
    log.listener("retrying", [dict(event)], 503)
    log.listener("retrying", [dict(event)], None)
    assert log.rows()[0]["state_text"] == "retrying ×2"
    log.listener("sent", [dict(event)], 202)
    assert log.rows()[0]["state_text"] == "sent 202"
    assert log.counts == {"queued": 1, "retrying": 2, "sent": 1}


def test_identify_makes_no_statsig_event_and_duplicates_are_told_apart():
    changes = []
    log = EventLog(on_change=lambda: changes.append(1))
    log.observe({"type": "identify", "userId": "user-1", "traits": {"email": "a@b.c"}})
    for _ in range(2):  # two identical events (same content): first in, first out
        log.observe({"type": "track", "event": "Tap"})
        log.listener("queued", [statsig_event("segment_track:Tap")], None)
    log.listener("sent", [statsig_event("segment_track:Tap")], 202)
    rows = log.rows()  # newest first
    assert [r["state_text"] for r in rows] == ["queued", "sent 202", "no event"]
    assert rows[2]["statsig_text"].startswith("No Statsig event")
    assert len(changes) == 6


def test_an_event_from_an_earlier_session_gets_a_row_of_its_own():
    log = EventLog()
    log.listener("dropped", [statsig_event("segment_screen:Home")], 400)
    (row,) = log.rows()
    assert row["call_text"] == "screen  Home  (earlier session)" and row["state_text"] == "dropped 400"


def _logged_client(tmp_path, fake_statsig):
    """A real client whose calls and Statsig deliveries feed an EventLog."""
    log = EventLog()
    analytics = Analytics(storage_dir=tmp_path, settings={"integrations": {"Statsig": {"apiKey": KEY}}},
                          flush_at=1000, flush_interval=3600)
    analytics.add(EventObserver(log))
    destination = analytics.add(StatsigDestination(api_url=fake_statsig.url, retry_base=0.02))
    destination.add_listener(log.listener)
    return log, analytics, destination


def test_fed_by_the_real_client(tmp_path, fake_statsig):
    log, analytics, destination = _logged_client(tmp_path, fake_statsig)
    analytics.identify("user-9", {"email": "x@y.z"})
    analytics.track("Order Completed", {"revenue": 12.5, "currency": "USD"})
    analytics.screen("Home")
    fake_statsig.set_offline(True)
    analytics.flush()
    assert fake_statsig.wait_for_requests(1, timeout=5)
    fake_statsig.set_offline(False)
    assert analytics.flush(timeout=5)
    analytics.shutdown(timeout=2)
    rows = log.rows()
    assert [r["call_text"] for r in rows] == ["screen  Home", "track  Order Completed", "identify  user-9"]
    assert [r["state_text"] for r in rows] == ["sent 202", "sent 202", "no event"]
    assert rows[1]["statsig_text"] == "segment_track:Order Completed   value 12.5"
    assert "userID user-9" in rows[1]["user_text"] and "x@y.z" in rows[1]["user_text"]
    assert log.counts["retrying"] == 2 and log.counts["sent"] == 2


def test_exposures_get_rows_of_their_own(tmp_path, fake_statsig):
    """A gate or experiment check logs an exposure from the values thread: it is shown as
    an "exposure" row, never paired with the Segment call being processed."""
    fake_statsig.set_gate("express_checkout", lambda user: user.get("userID") == "user-9")
    fake_statsig.set_experiment("checkout_button", lambda user: ("Purple", {"colour": "purple"}))
    log, analytics, destination = _logged_client(tmp_path, fake_statsig)
    analytics.identify("user-9")
    assert analytics.flush(timeout=5) and destination.wait_for_values(5)
    analytics.screen("Checkout")
    assert destination.check_gate("express_checkout") is True
    assert destination.get_experiment("checkout_button").get("colour", "green") == "purple"
    assert destination.flush_exposures(5) and analytics.flush(timeout=5)
    analytics.shutdown(timeout=2)
    rows = {r["call_text"]: r for r in log.rows()}
    assert set(rows) == {"screen  Checkout", "identify  user-9", "exposure  express_checkout = true",
                         "exposure  checkout_button  (checkout_button:Purple)"}
    gate = rows["exposure  express_checkout = true"]
    assert gate["statsig_text"] == "statsig::gate_exposure" and gate["state_text"] == "sent 202"
    assert '"gate": "express_checkout"' in gate["metadata_text"] and "userID user-9" in gate["user_text"]
    assert rows["screen  Checkout"]["statsig_text"] == "segment_screen:Checkout"
    assert rows["exposure  checkout_button  (checkout_button:Purple)"]["state_text"] == "sent 202"


def test_an_exposure_from_an_earlier_session():
    log = EventLog()
    event = statsig_event("statsig::gate_exposure", gate="g", gateValue="false", ruleID="default")
    log.listener("sent", [event], 202)
    (row,) = log.rows()
    assert row["call_text"] == "exposure  g = false  (earlier session)" and row["state_text"] == "sent 202"
