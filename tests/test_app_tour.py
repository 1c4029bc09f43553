"""The demo app's tour, run for real: a Kivy window (SDL offscreen), taps dispatched through
the window like a finger's, and what the loopback Statsig received; one tour run (a
module-scoped fixture) for every test here, and the terminal it leaves.
"""
import json

import pytest

from segment_statsig.testing.adapters import ours
from segment_statsig.testing.recording import events_of
from segment_statsig.testing.runner import compare, load_case, run_case

from .app_runs import app_env, assert_looks_like_a_screen, pixel, run

PHONE_SHOTS = ["01_home", "02_catalog", "03_product", "04_checkout", "05_profile", "06_profile_audience",
               "07_checkout_signed_in", "08_settings_flush_policies", "08_settings", "09_event_log", "10_event_detail",
               "11_event_log_offline",
               "12_event_log_online", "13_event_log_exposures", "14_privacy", "15_privacy_consent_off",
               "16_event_log_blocked_filtered", "17_privacy_opted_out", "18_privacy_erased", "19_event_log_erased",
               "20_flags", "21_flags_override"]
DESKTOP_SHOTS = ["22_desktop_home", "23_desktop_catalog", "24_desktop_event_log"]


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    """One run of `python -m demo_app --tour OUT_DIR` (the phone walk, then the desktop walk)."""
    tmp = tmp_path_factory.mktemp("tour")
    out = tmp / "out"
    proc = run(["-m", "demo_app", "--tour", str(out)], app_env(tmp))
    return out, proc


def test_tour_saves_a_screenshot_of_every_screen_at_phone_and_desktop_sizes(tour):
    out, _ = tour
    for name in PHONE_SHOTS:
        assert_looks_like_a_screen(out / f"{name}.png", (360, 640))
    for name in DESKTOP_SHOTS:
        assert_looks_like_a_screen(out / f"{name}.png", (1100, 720))
    summary = json.loads((out / "tour.json").read_text())
    assert summary["screenshots"] == [n + ".png" for n in PHONE_SHOTS]


def states(out):
    return json.loads((out / "tour.json").read_text())["states"]


def test_tour_statsig_received_the_seed_calls_from_real_taps(tour):
    out, _ = tour
    case = load_case(out / "demo_tour.json")
    requests = case["expected"]["requests"]
    events = [e for r in requests if r["status"] == 202 for e in r["body"]["events"]]
    names = [e["eventName"] for e in events]
    # Lifecycle, automatic screens, and the seed's calls, in the order the taps made them.
    assert names[:5] == ["segment_track:Application Installed", "segment_track:Application Opened",
                         "segment_screen:Home", "segment_track:Login Button Clicked", "segment_page:Home"]
    for expected in ("segment_screen:Catalog", "segment_screen:Product", "segment_track:Product Added",
                     "segment_screen:Checkout", "segment_track:Order Completed", "segment_screen:Profile",
                     "segment_screen:Settings", "segment_track:Application Backgrounded",
                     "segment_track:Application Opened", "segment_track:Deep Link Opened", "segment_screen:Event Log"):
        assert expected in names
    opened = [e["metadata"]["from_background"] for e in events if e["eventName"] == "segment_track:Application Opened"]
    assert opened == ["false", "true"]  # the launch, the return from the background
    link = next(e for e in events if e["eventName"] == "segment_track:Deep Link Opened")
    assert link["metadata"] == {"url": "demoshop://product/sku-1002?utm_source=newsletter&utm_campaign=spring",
                                "referrer": "com.example.mail", "utm_source": "newsletter", "utm_campaign": "spring"}
    order = next(e for e in events if e["eventName"] == "segment_track:Order Completed")
    assert order["value"] == 89.0
    assert order["metadata"]["currency"] == "USD" and order["metadata"]["order_id"] == "order-1001"
    assert json.loads(order["metadata"]["products"])[0]["product_id"] == "sku-1001"
    # identify sent no event but set the user; the Personas toggle went true, then false.
    assert not any("identify" in n for n in names)
    after_profile = events[names.index("segment_screen:Settings"):]
    assert all(e["user"]["userID"] == "user-42" and e["user"]["email"] == "ada@example.com" for e in after_profile)
    assert after_profile[0]["user"]["custom"] == {"order_completed_last_30days": False}
    calls = [c for c in case["calls"] if c["method"] == "identify"]
    assert [c["args"]["traits"] for c in calls] == [
        {"email": "ada@example.com"}, {"order_completed_last_30days": True}, {"order_completed_last_30days": False}]
    assert all(r["headers"]["statsig-api-key"] == "<API_KEY>" for r in requests)


def test_tour_offline_batch_was_refused_then_delivered(tour):
    out, _ = tour
    case = load_case(out / "demo_tour.json")
    requests = [r for r in case["expected"]["requests"] if r["path"] != "/v1/initialize"]
    statuses = [r["status"] for r in requests]
    assert 503 in statuses
    refused = requests[statuses.index(503)]
    retried = requests[statuses.index(503) + 1]
    assert retried["status"] == 202
    assert retried["body"]["events"] == refused["body"]["events"]  # the same batch, from the durable queue
    assert "segment_track:Login Button Clicked" in [e["eventName"] for e in refused["body"]["events"]]
    assert case["server"] == {"statuses": statuses[:statuses.index(503) + 1]}


def test_tour_checkout_follows_the_gate_and_the_experiment(tour):
    """Anonymous: no Express checkout, default (green) Place order. After identify
    ("user-42", group Purple of checkout_button): Express checkout shown, purple button,
    on the widget and in the screenshot."""
    from demo_app.screens import BUTTON_COLOURS
    from demo_app.backend import experiment_group

    out, _ = tour
    state = states(out)
    anonymous, identified = state["anonymous"], state["identified"]
    assert anonymous["express_shown"] is False and identified["express_shown"] is True
    assert experiment_group(None) == (None, {}) and experiment_group("user-42") == ("Purple", {"colour": "purple"})
    assert anonymous["colour"] == "green" and identified["colour"] == "purple"
    assert anonymous["fill"] == [round(c, 3) for c in BUTTON_COLOURS["green"]]
    assert identified["fill"] == [round(c, 3) for c in BUTTON_COLOURS["purple"]]
    # the screenshot: the button's centre is drawn in the experiment's colour
    x, y = identified["button_centre"]
    for dx in (-120, 120):  # beside the label, on the button's fill
        rgb = pixel(out / "07_checkout_signed_in.png", x + dx, y)
        assert all(abs(a - round(b * 255)) <= 3 for a, b in zip(rgb, BUTTON_COLOURS["purple"])), rgb


def test_tour_statsig_received_gate_and_config_exposures(tour):
    """The stand-in got initialize for the anonymous user, then for user-42 (identify and
    each trait change), and one gate and one config exposure per user, with the values
    the screen showed; the event log shows them as exposure rows, delivered."""
    out, _ = tour
    case = load_case(out / "demo_tour.json")
    requests = case["expected"]["requests"]
    initialize = [r for r in requests if r["path"] == "/v1/initialize"]
    assert [r["body"]["user"].get("userID") for r in initialize] == [None, "user-42", "user-42", "user-42"]
    assert [r["body"]["user"].get("custom") for r in initialize[1:]] == [
        None, {"order_completed_last_30days": True}, {"order_completed_last_30days": False}]
    events = [e for r in requests if r["status"] == 202 for e in r["body"]["events"]]
    gates = [e for e in events if e["eventName"] == "statsig::gate_exposure"]
    configs = [e for e in events if e["eventName"] == "statsig::config_exposure"]
    assert [(e["user"].get("userID"), e["metadata"]["gate"], e["metadata"]["gateValue"], e["metadata"]["reason"])
            for e in gates] == [(None, "express_checkout", "false", "Network:Recognized"),
                                ("user-42", "express_checkout", "true", "Network:Recognized")]
    assert [(e["user"].get("userID"), e["metadata"]["config"], e["metadata"]["ruleID"]) for e in configs] == [
        (None, "checkout_button", "default"), ("user-42", "checkout_button", "checkout_button:Purple")]
    # the experiment is read as the checkout is entered, before its screen call; the gate's
    # exposure is logged once its FeatureGate is shown, after it, while the checkout is on screen
    names = [e["eventName"] for e in events]
    checkouts = [i for i, n in enumerate(names) if n == "segment_screen:Checkout"]
    assert [names[i - 1] for i in checkouts] == ["statsig::config_exposure"] * 2
    after = [names[i + 1:names.index("statsig::gate_exposure", i) + 1] for i in checkouts]
    assert all(not any(n.startswith("segment_screen:") for n in seq) for seq in after), after
    calls = [c for c in case["calls"] if c["method"] in ("check_gate", "get_experiment", "screen")]
    checks = [(calls[i - 1]["method"], calls[i + 1]) for i, c in enumerate(calls)
              if c["method"] == "screen" and c["args"]["name"] == "Checkout"]
    assert checks == [("get_experiment", {"method": "check_gate", "args": {"name": "express_checkout"}})] * 2
    express = [e for e in events if e["eventName"] == "segment_track:Order Completed"][1]
    assert express["metadata"]["express"] == "true" and express["user"]["userID"] == "user-42"
    rows = states(out)["exposure_rows"]
    assert [(r["call_text"], r["statsig_text"], r["state_text"]) for r in rows] == [
        ("exposure  express_checkout = true", "statsig::gate_exposure   rule express_checkout:on", "sent 202"),
        ("exposure  checkout_button", "statsig::config_exposure   rule checkout_button:Purple", "sent 202"),
        ("exposure  express_checkout = false", "statsig::gate_exposure   rule default", "sent 202"),
        ("exposure  checkout_button", "statsig::config_exposure   rule default", "sent 202")]
    # the whole title shows, in the row's own font and width (nothing cut with "...")
    assert all(r["title_fits"] for r in rows)
    assert "exposure  express_checkout = true" in states(out)["exposure_rows_on_screen"]  # the picture shows them


def test_tour_recording_replays_in_the_conformance_harness(tour):
    out, _ = tour
    case = load_case(out / "demo_tour.json")
    # what it uses that a real SDK may lack, so an adapter without one skips it
    assert case["requires"] == ["consent", "filters", "gates", "purge"]
    result = run_case(case, ours)
    assert compare(case, result) == []
    assert len(events_of(result.requests)) == len(events_of(case["expected"]["requests"]))


# --- the Privacy screen ---------------------------------------------------------

def test_tour_recording_carries_the_privacy_settings_and_calls(tour):
    """The stand-in's settings (one rule, one consent mapping) and the Privacy screen's
    calls, in the harness's terms: the replay above ran them."""
    from demo_app.privacy import demo_settings

    out, _ = tour
    case = load_case(out / "demo_tour.json")
    assert case["settings"] == demo_settings("<API_KEY>")
    assert case["options"]["consent"] == {"categories": {"analytics": True, "marketing": True}}
    calls = case["calls"]
    assert calls[0] == {"method": "consent_start"}  # the stored choices loaded, before any call
    privacy = [c for c in calls if c["method"] in ("consent_changed", "set_enabled", "purge")]
    assert privacy == [
        {"method": "consent_changed", "args": {"categories": {"analytics": False, "marketing": True}}},
        {"method": "consent_changed", "args": {"categories": {"analytics": True, "marketing": True}}},
        {"method": "set_enabled", "args": {"enabled": False}},
        {"method": "set_enabled", "args": {"enabled": True}},
        {"method": "purge"}]
    tracks = [c["args"]["event"] for c in calls if c["method"] == "track"]
    assert tracks.count("Test Event") == 4 and tracks.count("Internal Debug") == 1
    # blocked, allowed, while opted out, erased: Statsig got the allowed one only
    events = [e["eventName"] for r in case["expected"]["requests"] if r["status"] == 202 for e in r["body"]["events"]]
    assert events.count("segment_track:Test Event") == 1
    assert "segment_track:Internal Debug" not in events
    assert events.count("segment_track:Segment Consent Preference Updated") == 2
    assert events[-1] == "segment_screen:Event Log"  # after the erase, delivery goes on


def test_tour_privacy_screen_shows_the_mapping_and_the_rule(tour):
    out, _ = tour
    state = states(out)
    assert state["privacy"]["statsig_needs"] == "analytics"
    assert state["privacy"]["switches"] == {"analytics": True, "marketing": True}
    assert state["privacy"]["collecting"] is True
    assert 'drops events named "Internal Debug" before Statsig' in state["privacy"]["rule"]


def test_tour_each_privacy_control_says_what_it_did(tour):
    out, _ = tour
    state = states(out)
    assert state["consent_off_message"].startswith('notify_consent_changed() sent track("Segment Consent '
                                                   'Preference Updated") with analytics: false.')
    assert "the consent blocker keeps it from Statsig" in state["blocked_message"]
    assert state["consent_on_message"].endswith("Statsig gets later events again.")
    assert "the destination filter drops it" in state["filtered_message"]
    assert state["allowed_message"] == 'Sent track("Test Event"): it goes to Statsig.'
    assert state["opt_out_message"].startswith("analytics.enabled = False")
    assert state["opted_out"]["message"] == 'track("Test Event") wrote nothing: collection is off (opted out).'
    assert state["opt_in_message"].startswith("analytics.enabled = True")
    assert state["erased"]["message"].startswith("analytics.purge() erased every event waiting on this device")


def test_tour_event_log_shows_a_blocked_and_a_filtered_event(tour):
    out, _ = tour
    state = states(out)
    rows = {r["state_text"]: r for r in state["privacy_rows"]}
    assert rows["blocked"]["call_text"] == "track  Test Event"
    assert rows["blocked"]["statsig_text"] == "Not sent: blocked by consent"
    assert rows["blocked"]["user_text"] == "consent: analytics=false, marketing=true"
    assert rows["filtered"]["call_text"] == "track  Internal Debug"
    assert rows["filtered"]["statsig_text"] == "Not sent: filtered by a rule"
    # both in the picture (the log scrolled to them), the consent given again between them
    assert state["privacy_rows_on_screen"][:3] == ["filtered", "sent 202", "blocked"]


def test_tour_opt_out_adds_no_row_and_erase_empties_the_queue(tour):
    out, _ = tour
    state = states(out)
    opted_out = state["opted_out"]
    assert opted_out["rows_after"] == opted_out["rows_before"]
    assert opted_out["collecting"] is False and opted_out["switch"] is False
    assert state["allowed_row"] == "sent 202"  # made with consent, before the opt-out
    assert state["erased"]["waiting_before"] == 3 and state["erased"]["queue_after"] == 0
    newest, erase, test_event, screen = state["erase_rows"]
    assert newest["state_text"] == "sent 202"
    assert erase == {"call_text": "purge()  erased on the device", "statsig_text": "3 waiting rows below: never sent",
                     "state_text": "erased"}
    assert (test_event["call_text"], test_event["state_text"]) == ("track  Test Event", "erased")
    assert screen["state_text"] == "erased"


# --- what a newcomer sees --------------------------------------------------------

def test_tour_home_greets_a_first_launch_and_shows_its_delivery_card_unscrolled(tour):
    out, _ = tour
    home = states(out)["home"]
    assert home["greeting"] == "Welcome"
    assert home["delivery_card_in_view"] is True  # at 360x640, above the tabs, before any scroll


def test_tour_every_tap_says_what_it_sent(tour):
    out, _ = tour
    state = states(out)
    assert state["home_message"].startswith('Sent track("Login Button Clicked"')
    assert state["identify_message"] == ('Sent identify("user-42", {"email": "ada@example.com"}). '
                                         "No Statsig event: later events carry userID user-42.")
    assert state["audience_message"].startswith('Sent identify(traits={"order_completed_last_30days": true})')
    assert state["background_message"].startswith('Sent track("Application Backgrounded") and flushed the queue')
    assert state["foreground_message"].startswith('Sent track("Application Opened", {"from_background": true})')
    assert state["deep_link_message"].startswith('Sent track("Deep Link Opened"')
    # the Settings screen lists the flush policies, the app's own custom one last
    assert state["flush_policies"].splitlines() == [
        "CountFlushPolicy(10000): when 10000 events wait", "FrequencyFlushPolicy(3600): every 3600 s while events wait",
        "BackgroundFlushPolicy(): when the app goes to the background",
        "SendOrdersAtOnce() (this app's own): each order at once, off"]
    switched = state["flush_policies_on"]
    assert switched["policy_on"] is True and switched["message"] == "Orders are sent at once now (SendOrdersAtOnce)."
    assert switched["text"].splitlines()[-1] == "SendOrdersAtOnce() (this app's own): each order at once, on"


def test_tour_checkout_keeps_shopping_in_view_and_explains_value(tour):
    from demo_app import catalog

    out, _ = tour
    state = states(out)
    # tapped where it was, without scrolling: not under the tab bar
    assert state["keep_shopping_in_view"] is True
    assert state["checkout_texts"]["tax_label"] == f"Tax ({round(catalog.TAX_RATE * 100)}%)"
    assert "$89.00, the subtotal" in state["checkout_texts"]["value_note"]
    assert "value 89 (the revenue, before tax) and total 96.12" in state["confirmation"]


def test_tour_an_event_log_row_opens_to_the_whole_event(tour):
    """Tapped (a real touch on the row), the row opens the Segment call, the Statsig event,
    its user and its delivery history, all in full; the back button returns."""
    out, _ = tour
    detail = states(out)["detail"]
    assert detail["title"] == "track  Application Opened" and detail["state_text"] == "sent 202"
    unwrap = lambda text: json.loads(text)  # noqa: E731 (the screen wraps it; the state holds it whole)
    segment = unwrap(detail["segment"])
    assert segment["type"] == "track" and segment["event"] == "Application Opened"
    assert segment["properties"] == {"from_background": True, "version": "1.0.0", "build": "1"}
    assert segment["userId"] == "user-42" and segment["context"]["app"]["version"] == "1.0.0"
    statsig = unwrap(detail["statsig"])
    assert statsig["eventName"] == "segment_track:Application Opened"
    assert statsig["metadata"] == {"from_background": "true", "version": "1.0.0", "build": "1"}
    user = unwrap(detail["user"])
    assert user["userID"] == "user-42" and user["customIDs"]["stableID"] == segment["anonymousId"]
    assert [line.split("  ", 1)[1] for line in detail["history"].splitlines()] == ["called", "queued", "sent 202"]


def test_tour_events_badge_counts_what_arrived_since_the_log_was_last_seen(tour):
    out, _ = tour
    state = states(out)
    assert state["home"]["badge"] == str(state["home"]["log_rows"]) != "0"  # nothing seen yet: all of it
    assert state["badge_before_the_log"]["badge"] == str(state["badge_before_the_log"]["rows"])
    assert state["badge_in_the_log"] == ""  # looking at it
    # back on Home: screen("Home") and the login, the two that arrived since
    assert state["badge_after_the_log"] == "2"


def test_tour_event_log_rows_are_clear_of_the_scroll_bar(tour):
    out, _ = tour
    assert states(out)["log_rows_clear_of_the_scroll_bar"] is True
    desktop = json.loads((out / "tour_desktop.json").read_text())
    assert desktop["log_rows_clear_of_the_scroll_bar"] is True


def test_tour_terminal_is_at_info_and_explains_the_tours_retry_delay(tour):
    _, proc = tour
    output = proc.stdout + proc.stderr
    assert "DEBUG" not in output  # no urllib3 flood
    lines = output.splitlines()
    retry = next(i for i, line in enumerate(lines) if "retry 1 in" in line)
    explained = next(i for i, line in enumerate(lines) if "deterministic mode" in line)
    assert explained > retry and "hence the 'retry 1 in ...s' above" in lines[explained]


def test_the_debug_flag_shows_debug_lines(tmp_path):
    proc = run(["-m", "demo_app", "--tour", str(tmp_path / "out"), "--tour-part", "desktop", "--size", "1100x720",
                "--debug"], app_env(tmp_path), timeout=90)
    debug = [line for line in (proc.stdout + proc.stderr).splitlines() if "DEBUG" in line]
    assert any("Starting new HTTP connection" in line for line in debug)  # urllib3's, under --debug only


def test_tour_flags_screen_lists_the_values_and_overrides_the_gate(tour):
    out, _ = tour
    state = json.loads((out / "tour.json").read_text())["states"]
    kinds = {row["name"]: row["kind"] for row in state["flags"]}
    assert kinds == {"express_checkout": "gate", "checkout_button": "experiment", "shipping": "config",
                     "checkout_copy": "parameter_store"}
    assert all(row["reason"] == "Network:Recognized" for row in state["flags"])
    override = state["flags_override"]
    assert override["value"] is (not override["served"]) and override["reason"] == "LocalOverride:Recognized"
    assert 'override_gate("express_checkout"' in override["message"]
    # the checkout preview, a KV rule over app.flags, followed the override
    assert state["flags_preview"]["shown"] is override["served"] and override["preview_shown"] is override["value"]
    assert state["flags_removed"] == {"value": override["served"], "reason": "Network:Recognized"}
