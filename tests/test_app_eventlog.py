"""The demo's event log model: each Segment call paired with the Statsig event it
became and that event's delivery state, fed as the real client feeds it."""
import json
import time

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
    assert row["call_text"] == "screen  Home" and row["state_text"] == "dropped 400"
    assert row["statsig_text"] == "segment_screen:Home   (queued in an earlier session)"


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
                         "exposure  checkout_button"}
    gate = rows["exposure  express_checkout = true"]
    assert gate["statsig_text"].startswith("statsig::gate_exposure   rule ") and gate["state_text"] == "sent 202"
    assert '"gate": "express_checkout"' in gate["metadata_text"] and "userID user-9" in gate["user_text"]
    assert rows["screen  Checkout"]["statsig_text"] == "segment_screen:Checkout"
    config = rows["exposure  checkout_button"]
    assert config["statsig_text"] == "statsig::config_exposure   rule checkout_button:Purple"
    assert config["state_text"] == "sent 202"


def test_an_exposure_from_an_earlier_session():
    log = EventLog()
    event = statsig_event("statsig::gate_exposure", gate="g", gateValue="false", ruleID="default")
    log.listener("sent", [event], 202)
    (row,) = log.rows()
    assert row["call_text"] == "exposure  g = false" and row["state_text"] == "sent 202"
    assert row["statsig_text"] == "statsig::gate_exposure   rule default   (queued in an earlier session)"


# --- what a row opens to, and the tab's badge ------------------------------------------

def test_a_row_opens_to_the_whole_event_and_its_delivery_history(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")  # the history shows the device's local time
    time.tzset()
    clock = iter([1714564800.0, 1714564801.5, 1714564803.25, 1714564809.0])
    log = EventLog(clock=lambda: next(clock))
    segment = {"type": "track", "event": "Order Completed", "messageId": "m-1", "anonymousId": "a-1",
               "properties": {"revenue": 89.0, "total": 96.12, "products": [{"product_id": "sku-1001"}]},
               "context": {"locale": "en-US"}}
    log.observe(segment)
    segment["properties"]["revenue"] = 0  # a later plugin changing the event does not change the log
    event = {"eventName": "segment_track:Order Completed", "value": 89.0, "time": 1714564800000,
             "user": {"userID": "user-42", "customIDs": {"stableID": "a-1"}, "custom": {"vip": True}},
             "metadata": {"revenue": "89", "total": "96.12", "products": '[{"product_id":"sku-1001"}]'}}
    log.listener("queued", [event], None)
    log.listener("retrying", [dict(event)], 503)
    log.listener("sent", [dict(event)], 202)
    (row,) = log.rows()
    detail = log.detail(row["number"])
    assert detail["title"] == "track  Order Completed"
    assert json.loads(detail["segment"]) == {**segment, "properties": {**segment["properties"], "revenue": 89.0}}
    statsig = json.loads(detail["statsig"])
    assert statsig["eventName"] == "segment_track:Order Completed" and statsig["value"] == 89.0
    assert statsig["metadata"] == event["metadata"] and "user" not in statsig
    assert json.loads(detail["user"]) == event["user"]
    assert detail["history"].splitlines() == ["12:00:00.000  called", "12:00:01.500  queued", "12:00:03.250  retrying 503",
                                              "12:00:09.000  sent 202"]
    assert (detail["delivery"], detail["state_text"]) == ("sent", "sent 202")
    assert log.detail(999) is None
    monkeypatch.undo()
    time.tzset()


def test_identify_and_exposure_details_say_what_is_missing():
    log = EventLog()
    log.observe({"type": "identify", "userId": "user-42", "traits": {"email": "a@b.c"}})
    log.listener("queued", [statsig_event("statsig::gate_exposure", gate="g", gateValue="true", ruleID="r")], None)
    exposure, identify = log.rows()
    assert "No Statsig event" in log.detail(identify["number"])["statsig"]
    assert json.loads(log.detail(identify["number"])["segment"])["traits"] == {"email": "a@b.c"}
    assert "No Segment call" in log.detail(exposure["number"])["segment"]
    assert json.loads(log.detail(exposure["number"])["statsig"])["metadata"]["gate"] == "g"


def test_the_badge_counts_what_arrived_since_the_log_was_last_seen():
    log = EventLog()
    assert log.unseen() == 0
    for name in ("A", "B", "C"):
        log.observe({"type": "track", "event": name})
    assert log.unseen() == 3
    log.mark_seen()
    assert log.unseen() == 0
    log.listener("queued", [statsig_event("segment_track:C")], None)  # a change is not an arrival
    log.listener("sent", [statsig_event("segment_track:C")], 202)
    assert log.unseen() == 0
    log.observe({"type": "screen", "name": "Home"})
    log.listener("queued", [statsig_event("statsig::gate_exposure", gate="g", gateValue="true")], None)
    assert log.unseen() == 2
    small = EventLog(limit=2)
    for name in "ABCDE":
        small.observe({"type": "track", "event": name})
    assert small.unseen() == 5 and len(small.rows()) == 2  # still arrivals, though the log keeps two


# --- privacy: blocked, filtered, erased --------------------------------------

def _private_client(tmp_path, fake_statsig, choices):
    """The demo's privacy wiring, without Kivy: its settings (the Internal Debug filter, Statsig
    mapped to analytics) and its consent platform, feeding an EventLog."""
    from segment_statsig import ConsentManager

    from demo_app.privacy import demo_settings

    log = EventLog()
    analytics = Analytics(storage_dir=tmp_path / "store", settings=demo_settings(KEY), flush_at=1000,
                          flush_interval=3600)
    consent = analytics.add(ConsentManager(choices))
    analytics.add(EventObserver(log))
    destination = analytics.add(StatsigDestination(api_url=fake_statsig.url, retry_base=0.02))
    destination.add_listener(log.listener)
    consent.start()
    return log, analytics, consent


def test_blocked_and_filtered_calls_say_why_no_statsig_event_was_made(tmp_path, fake_statsig):
    from demo_app.privacy import ConsentChoices

    choices = ConsentChoices(str(tmp_path))
    choices.choose("analytics", False)
    log, analytics, consent = _private_client(tmp_path, fake_statsig, choices)
    analytics.track("Test Event", {"screen": "Privacy"})
    choices.choose("analytics", True)
    consent.notify_consent_changed()
    analytics.track("Internal Debug", {"detail": "x"})
    analytics.track("Test Event", {"screen": "Privacy"})
    assert analytics.flush(timeout=5)
    analytics.shutdown(timeout=2)
    sent, filtered, preference, blocked = log.rows()
    assert (blocked["call_text"], blocked["state_text"]) == ("track  Test Event", "blocked")
    assert blocked["statsig_text"] == "Not sent: blocked by consent"
    assert blocked["metadata_text"] == 'properties: {"screen": "Privacy"}'
    assert blocked["user_text"] == "consent: analytics=false, marketing=true"
    assert "consent blocker" in log.detail(blocked["number"])["statsig"]
    assert json.loads(log.detail(blocked["number"])["segment"])["context"]["consent"] == {
        "categoryPreferences": {"analytics": False, "marketing": True}}
    assert preference["state_text"] == "sent 202"
    assert (filtered["call_text"], filtered["state_text"]) == ("track  Internal Debug", "filtered")
    assert filtered["statsig_text"] == "Not sent: filtered by a rule"
    assert "routing rule" in log.detail(filtered["number"])["statsig"]
    assert (sent["call_text"], sent["state_text"]) == ("track  Test Event", "sent 202")
    assert [e["eventName"] for e in fake_statsig.events] == [
        "segment_track:Segment Consent Preference Updated", "segment_track:Test Event"]


def test_purge_marks_what_waited_erased_and_says_how_many(tmp_path, fake_statsig):
    from demo_app.privacy import ConsentChoices

    log, analytics, _ = _private_client(tmp_path, fake_statsig, ConsentChoices(str(tmp_path)))
    destination = analytics.find(StatsigDestination)
    analytics.track("Delivered")
    assert analytics.flush(timeout=5)
    analytics.track("Waiting")
    analytics.screen("Privacy")
    deadline = time.monotonic() + 5
    while destination.queue_depth < 2 and time.monotonic() < deadline:  # processed: rows of their own
        time.sleep(0.01)
    assert analytics.purge(timeout=5)
    analytics.shutdown(timeout=2)
    erase, screen, waiting, delivered = log.rows()
    assert erase["call_text"] == "purge()  erased on the device" and erase["state_text"] == "erased"
    assert erase["statsig_text"] == "2 waiting rows below: never sent"
    assert [screen["state_text"], waiting["state_text"], delivered["state_text"]] == ["erased", "erased", "sent 202"]
    assert "erased" in log.detail(waiting["number"])["history"]
    assert [e["eventName"] for e in fake_statsig.events] == ["segment_track:Delivered"]
