"""Destination filters, consent, opt-out and purge in device mode, end to end:
Segment's CDN settings from the fake CDN, the Statsig events the fake Statsig received."""
import json
import logging
import os

import pytest

from segment_statsig import Analytics, ConsentManager, StatsigDestination

KEY = "client-privacy-key-0123456789"
WRITE_KEY = "wk-privacy"


def rule(matcher_ir, *steps, destination="Statsig"):
    matcher = {"type": "all"} if matcher_ir is None else {"type": "fql", "ir": json.dumps(matcher_ir)}
    return {"scope": "destinations", "target_type": "workspace::project::destination::config",
            "destinationName": destination, "matchers": [matcher], "transformers": [list(steps)]}


def settings_with(rules=(), consent=None, statsig_categories=None):
    statsig = {"apiKey": KEY}
    if statsig_categories is not None:
        statsig["consentSettings"] = {"categories": statsig_categories}
    settings = {"integrations": {"Statsig": statsig, "Segment.io": {"apiKey": WRITE_KEY}},
                "middlewareSettings": {"routingRules": list(rules)}}
    if consent is not None:
        settings["consentSettings"] = consent
    return settings


@pytest.fixture
def from_cdn(tmp_path, fake_statsig, fake_segment_cdn):
    """from_cdn(settings, **options) -> (analytics, statsig destination), settings served by the CDN."""
    made = []

    def make(settings, storage="store", consent=None, **options):
        fake_segment_cdn.set_settings(WRITE_KEY, settings)
        analytics = Analytics(WRITE_KEY, storage_dir=tmp_path / storage, cdn_url=fake_segment_cdn.url,
                              api_url=fake_segment_cdn.api_url, flush_interval=0.05, **options)
        if consent is not None:
            analytics.add(consent)
        destination = analytics.add(StatsigDestination(api_url=fake_statsig.url, retry_base=0.02, retry_max=0.2))
        made.append(analytics)
        return analytics, destination

    yield make
    for analytics in made:
        analytics.shutdown(2)


def names(fake_statsig):
    return [e["eventName"] for e in fake_statsig.events]


# --- destination filters, one test per transformer ------------------------------------
def test_a_drop_rule_keeps_matching_events_from_statsig_only(from_cdn, fake_statsig, fake_segment_cdn):
    analytics, destination = from_cdn(settings_with([rule(["=", "event", {"value": "Secret Thing"}], {"type": "drop"})]))
    analytics.track("Secret Thing")
    analytics.track("Visible Thing")
    assert analytics.flush(timeout=10)
    assert names(fake_statsig) == ["segment_track:Visible Thing"]
    assert destination.stats.snapshot()["filtered"] == 1
    # The cloud leg is Segment's servers' to filter: it still carries both.
    assert [e["event"] for e in fake_segment_cdn.cloud_events] == ["Secret Thing", "Visible Thing"]


def test_drop_properties_removes_them_before_the_mapping(from_cdn, fake_statsig):
    drop = {"type": "drop_properties", "config": {"drop": {"properties": ["email", "phone"]}}}
    analytics, _ = from_cdn(settings_with([rule(None, drop)]))
    analytics.track("Signed Up", {"email": "a@b.c", "phone": "555", "plan": "pro"})
    assert analytics.flush(timeout=10)
    assert fake_statsig.events[0]["metadata"] == {"plan": "pro"}


def test_allow_properties_keeps_only_those(from_cdn, fake_statsig):
    allow = {"type": "allow_properties", "config": {"allow": {"properties": ["plan"]}}}
    analytics, _ = from_cdn(settings_with([rule(["=", "type", {"value": "track"}], allow)]))
    analytics.track("Signed Up", {"email": "a@b.c", "plan": "pro"})
    analytics.screen("Home", properties={"email": "kept: screens do not match"})
    assert analytics.flush(timeout=10)
    assert [e["metadata"] for e in fake_statsig.events] == [{"plan": "pro"}, {"email": "kept: screens do not match"}]


def test_map_properties_reads_the_event_as_it_was(from_cdn, fake_statsig):
    mapping = {"type": "map_properties", "config": {"map": {
        "properties.total": {"copy": "properties.price"},
        "properties.price": {"set": 1},
        "properties.count": {"to_string": True}}}}
    analytics, _ = from_cdn(settings_with([rule(None, mapping)]))
    analytics.track("Order Completed", {"price": 9.5, "count": 3})
    assert analytics.flush(timeout=10)
    assert fake_statsig.events[0]["metadata"] == {"price": "1", "count": "3", "total": "9.5"}


@pytest.mark.parametrize("percent,kept", [(0, []), (1, ["segment_track:Sampled"])])
def test_sample_event_at_the_edges(from_cdn, fake_statsig, percent, kept):
    sample = {"type": "sample_event", "config": {"sample": {"percent": percent, "path": ""}}}
    analytics, _ = from_cdn(settings_with([rule(None, sample)]))
    analytics.track("Sampled")
    analytics.track("Marker", integrations={})
    assert analytics.flush(timeout=10)
    assert names(fake_statsig) == kept + (["segment_track:Marker"] if percent else [])


def test_hash_properties_is_ignored_as_tsub_ignores_it(from_cdn, fake_statsig):
    hashing = {"type": "hash_properties", "config": {"hash": {"properties": ["email"]}}}
    analytics, _ = from_cdn(settings_with([rule(None, hashing)]))
    analytics.track("Signed Up", {"email": "a@b.c"})
    assert analytics.flush(timeout=10)
    assert fake_statsig.events[0]["metadata"] == {"email": "a@b.c"}


def test_a_rule_for_another_destination_does_nothing_here(from_cdn, fake_statsig):
    analytics, _ = from_cdn(settings_with([rule(None, {"type": "drop"}, destination="Amplitude")]))
    analytics.track("Kept")
    assert analytics.flush(timeout=10)
    assert names(fake_statsig) == ["segment_track:Kept"]


def test_a_rule_that_fails_sets_the_event_aside_and_the_rest_flow(from_cdn, fake_statsig, log_records):
    broken = {"type": "drop_properties", "config": {"drop": {"properties": "not a list"}}}  # tsub throws
    analytics, destination = from_cdn(settings_with([rule(["=", "event", {"value": "Odd"}], broken)]))
    analytics.track("Odd")
    analytics.track("Fine")
    assert analytics.flush(timeout=10)
    assert names(fake_statsig) == ["segment_track:Fine"]
    assert destination.stats.snapshot()["quarantined"] == 1
    assert "Odd" in log_records.text and "FilterError" in log_records.text


def test_a_settings_refresh_replaces_the_rules(tmp_path, fake_statsig):
    analytics = Analytics(storage_dir=tmp_path, flush_interval=0.05,
                          settings=settings_with([rule(None, {"type": "drop"})]))
    destination = analytics.add(StatsigDestination(api_url=fake_statsig.url))
    try:
        analytics.track("Dropped")
        assert analytics.flush(timeout=10)
        analytics._apply_settings(settings_with([]))  # what a CDN refresh does
        analytics.track("Sent")
        assert analytics.flush(timeout=10)
        assert names(fake_statsig) == ["segment_track:Sent"] and destination.stats.snapshot()["filtered"] == 1
    finally:
        analytics.shutdown(2)


# --- consent ---------------------------------------------------------------------------
class Choices:
    """A consent platform: the user's current choices."""

    def __init__(self, **choices):
        self.choices = choices
        self.category_list = None

    def get_categories(self):
        return dict(self.choices)

    def set_category_list(self, categories):
        self.category_list = categories


CONSENT = {"allCategories": ["analytics", "marketing"], "hasUnmappedDestinations": False}


def test_consent_blocks_then_allows_and_the_preference_event_always_passes(from_cdn, fake_statsig, fake_segment_cdn):
    choices = Choices(analytics=False, marketing=False)
    consent = ConsentManager(choices)
    analytics, destination = from_cdn(settings_with(consent=CONSENT, statsig_categories=["analytics"]),
                                      consent=consent)
    analytics.track("Before Start")
    assert not analytics.flush(timeout=0.3)   # held until start(): nothing processed
    assert fake_statsig.events == [] and fake_segment_cdn.cloud_events == []
    consent.start()
    analytics.track("No Consent Yet")
    assert analytics.flush(timeout=10)
    assert fake_statsig.events == []          # Statsig needs "analytics"
    assert fake_segment_cdn.cloud_events == []  # every destination mapped and nothing consented
    assert destination.stats.snapshot()["blocked"] == 2
    assert choices.category_list == ["analytics", "marketing"]

    choices.choices["analytics"] = True
    consent.notify_consent_changed()
    analytics.track("With Consent")
    assert analytics.flush(timeout=10)
    assert names(fake_statsig) == ["segment_track:Segment Consent Preference Updated", "segment_track:With Consent"]
    cloud = fake_segment_cdn.cloud_events
    assert [e["event"] for e in cloud] == ["Segment Consent Preference Updated", "With Consent"]
    assert cloud[-1]["context"]["consent"] == {"categoryPreferences": {"analytics": True, "marketing": False}}


def test_the_preference_event_passes_even_without_consent(from_cdn, fake_statsig):
    consent = ConsentManager(lambda: {"analytics": False})
    analytics, _ = from_cdn(settings_with(consent=CONSENT, statsig_categories=["analytics"]), consent=consent)
    consent.start()
    consent.notify_consent_changed()
    analytics.track("Blocked")
    assert analytics.flush(timeout=10)
    assert names(fake_statsig) == ["segment_track:Segment Consent Preference Updated"]


def test_with_unmapped_destinations_the_cloud_leg_gets_everything(from_cdn, fake_statsig, fake_segment_cdn):
    consent = ConsentManager(lambda: {})
    analytics, _ = from_cdn(settings_with(consent={**CONSENT, "hasUnmappedDestinations": True},
                                          statsig_categories=["analytics"]), consent=consent)
    consent.start()
    analytics.track("Anything")
    assert analytics.flush(timeout=10)
    assert fake_statsig.events == [] and [e["event"] for e in fake_segment_cdn.cloud_events] == ["Anything"]


def test_events_held_before_start_survive_a_kill(tmp_path, fake_statsig, fake_segment_cdn):
    import subprocess
    import sys

    fake_segment_cdn.set_settings(WRITE_KEY, settings_with(consent=CONSENT, statsig_categories=["analytics"]))
    script = f"""
import os, signal
from segment_statsig import Analytics, ConsentManager, StatsigDestination
a = Analytics({WRITE_KEY!r}, storage_dir={str(tmp_path)!r}, cdn_url={fake_segment_cdn.url!r},
              api_url={fake_segment_cdn.api_url!r}, flush_interval=0.05)
a.add(ConsentManager(lambda: {{"analytics": True}}))
a.add(StatsigDestination(api_url={fake_statsig.url!r}))
for i in range(50):
    a.track("Held", {{"i": i}})
os.kill(os.getpid(), signal.SIGKILL)
"""
    assert subprocess.run([sys.executable, "-c", script], timeout=60).returncode == -9
    analytics = Analytics(WRITE_KEY, storage_dir=tmp_path, cdn_url=fake_segment_cdn.url,
                          api_url=fake_segment_cdn.api_url, flush_interval=0.05)
    consent = analytics.add(ConsentManager(lambda: {"analytics": True}))
    analytics.add(StatsigDestination(api_url=fake_statsig.url))
    try:
        consent.start()
        assert analytics.flush(timeout=10)
        assert sorted(int(e["metadata"]["i"]) for e in fake_statsig.events) == list(range(50))
    finally:
        analytics.shutdown(2)


def test_a_provider_that_fails_stamps_no_consent(from_cdn, fake_statsig, log_records):
    def broken():
        raise RuntimeError("the consent platform is down")

    consent = ConsentManager(broken)
    analytics, destination = from_cdn(settings_with(consent=CONSENT, statsig_categories=["analytics"]), consent=consent)
    consent.start()
    analytics.track("Unknown Consent")
    assert analytics.flush(timeout=10)
    assert fake_statsig.events == [] and destination.stats.snapshot()["blocked"] == 1
    assert "consent provider failed" in log_records.text


def test_consent_manager_refuses_a_provider_it_cannot_ask():
    with pytest.raises(TypeError):
        ConsentManager({"analytics": True})


# --- opt-out ----------------------------------------------------------------------------
def test_opt_out_writes_nothing_and_lasts_across_a_restart(tmp_path, fake_statsig):
    def start():
        analytics = Analytics(storage_dir=tmp_path, flush_interval=0.05, settings=settings_with())
        return analytics, analytics.add(StatsigDestination(api_url=fake_statsig.url))

    analytics, destination = start()
    analytics.track("Before Opt Out")
    assert analytics.flush(timeout=10)
    analytics.enabled = False
    anonymous_id = analytics.anonymous_id
    analytics.track("While Out")
    analytics.identify("someone", {"email": "x@y.z"})
    assert analytics.user_id is None and analytics.traits == {}
    assert analytics.journal.pending == type(analytics.journal.pending)() and destination.queue_depth == 0
    analytics.shutdown(2)

    analytics, destination = start()
    try:
        assert analytics.enabled is False and analytics.anonymous_id == anonymous_id
        analytics.track("Still Out")
        assert analytics.flush(timeout=2)
        analytics.enabled = True
        analytics.track("Back In")
        assert analytics.flush(timeout=10)
        assert names(fake_statsig) == ["segment_track:Before Opt Out", "segment_track:Back In"]
    finally:
        analytics.shutdown(2)


def test_enabled_takes_only_a_bool(tmp_path):
    analytics = Analytics(storage_dir=tmp_path, settings={"integrations": {}})
    try:
        with pytest.raises(TypeError):
            analytics.enabled = "no"
    finally:
        analytics.shutdown(1)


# --- purge ------------------------------------------------------------------------------
def test_purge_while_statsig_is_down_erases_every_undelivered_event(tmp_path, fake_statsig, fake_segment_cdn,
                                                                    from_cdn):
    fake_statsig.set_offline(True)
    fake_statsig.set_gate("g", True)
    analytics, destination = from_cdn(settings_with())
    assert fake_segment_cdn.wait_for_requests(1, timeout=10)  # the settings came
    fake_segment_cdn.respond_with_statuses([503] * 1000)      # and now the cloud leg is down too
    for i in range(30):
        analytics.track("Undelivered", {"i": i, "secret": "s3cr3t-value"})
    destination.check_gate("g")
    analytics.flush()
    assert fake_statsig.wait_for_requests(1, timeout=10)
    assert analytics.purge(timeout=5)
    assert destination.queue_depth == 0 and analytics.journal.pending == type(analytics.journal.pending)()
    analytics.shutdown(2)
    for name in os.listdir(tmp_path / "store"):
        data = (tmp_path / "store" / name).read_bytes()
        assert b"s3cr3t-value" not in data, name
    fake_statsig.set_offline(False)
    fake_segment_cdn.clear()
    analytics, destination = from_cdn(settings_with())
    analytics.track("After Purge")
    assert analytics.flush(timeout=10)
    assert [e["eventName"] for e in fake_statsig.events if e["eventName"].startswith("segment_")] == \
        ["segment_track:After Purge"]


def test_purge_before_the_worker_ever_ran(tmp_path):
    analytics = Analytics(storage_dir=tmp_path, settings={"integrations": {}})
    try:
        assert analytics.purge(timeout=5)
    finally:
        analytics.shutdown(1)


def test_a_consent_change_while_opted_out_holds_once_back_in(from_cdn, fake_statsig):
    choices = Choices(analytics=False)
    consent = ConsentManager(choices)
    analytics, _ = from_cdn(settings_with(consent=CONSENT, statsig_categories=["analytics"]), consent=consent)
    consent.start()
    analytics.enabled = False
    choices.choices["analytics"] = True
    consent.notify_consent_changed()   # nothing is written while opted out
    analytics.enabled = True
    analytics.track("Back In With Consent")
    assert analytics.flush(timeout=10)
    assert names(fake_statsig) == ["segment_track:Back In With Consent"]


def test_opted_out_gate_checks_fetch_nothing_and_log_no_exposure(from_cdn, fake_statsig):
    fake_statsig.set_gate("new_checkout", True)
    analytics, destination = from_cdn(settings_with())
    analytics.enabled = False
    assert destination.check_gate("new_checkout") is False  # nothing known, nothing fetched
    analytics.flush(timeout=1)
    assert fake_statsig.initialize_requests == [] and fake_statsig.events == []
    analytics.enabled = True
    assert destination.wait_for_values(5) and destination.check_gate("new_checkout") is True
    assert analytics.flush(timeout=10)
    assert names(fake_statsig) == ["statsig::gate_exposure"]


def test_a_destination_mapped_to_no_category_gets_nothing_not_even_the_preference(from_cdn, fake_statsig):
    consent = ConsentManager(lambda: {"analytics": True})
    analytics, _ = from_cdn(settings_with(consent=CONSENT, statsig_categories=[]), consent=consent)
    consent.start()
    consent.notify_consent_changed()
    analytics.track("Anything")
    assert analytics.flush(timeout=10)
    assert fake_statsig.events == []
