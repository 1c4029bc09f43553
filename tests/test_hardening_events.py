"""Hardening: one event holds up nothing (one of 20,000 properties, one a plugin cannot
process, a record the timeline cannot read), and batches respect the receiver's byte limits."""
import json
import os
import time

from segment_statsig import Analytics, DestinationPlugin, SegmentDestination


# --- 1: one huge event -------------------------------------------------------------------
def test_an_event_with_20000_properties_is_processed_in_linear_time(make_client, fake_statsig, log_records):
    analytics, destination = make_client()
    analytics.track("Wide", {f"key{i}": "v" * 10 for i in range(20_000)})
    analytics.track("Behind It")
    started = time.monotonic()
    assert analytics.flush(timeout=20), destination.stats.snapshot()
    assert time.monotonic() - started < 10
    wide, behind = fake_statsig.events
    assert wide["metadata"]["statsig_metadata_truncated"] == "true"
    assert len(json.dumps(wide["metadata"], separators=(",", ":"), ensure_ascii=False)) <= 4096
    assert behind["eventName"] == "segment_track:Behind It"


def test_metadata_trimming_cost_grows_linearly():
    from segment_statsig.statsig.mapping import fit_metadata

    def cost(n):
        metadata = {f"key{i}": "v" * 10 for i in range(n)}
        started = time.thread_time()  # this thread's CPU: other processes' turns do not count
        fit_metadata(metadata, "wide")
        return time.thread_time() - started

    cost(1000)
    small, large = min(cost(2000) for _ in range(5)), min(cost(16000) for _ in range(5))
    assert large < 8 * small * 3, (small, large)  # 8x the keys: linear (x8), not quadratic (x64)


class Exploding(DestinationPlugin):
    key = "Exploding"

    def track(self, event):
        if event["properties"].get("explode"):
            raise RuntimeError("this plugin cannot take it")
        return event


def test_an_event_a_plugin_cannot_process_is_quarantined_counted_and_logged(make_client, fake_statsig, log_records):
    analytics, destination = make_client()
    analytics.add(Exploding())
    analytics.track("Boom", {"explode": True})
    analytics.track("Fine")
    assert analytics.flush(timeout=10)
    assert [e["eventName"] for e in fake_statsig.events] == ["segment_track:Boom", "segment_track:Fine"]
    assert "Exploding" in log_records.text and "Boom" in log_records.text
    (line,) = open(os.path.join(analytics.storage_dir, "quarantine.jsonl")).read().splitlines()
    kept = json.loads(line)
    assert kept["where"] == "Exploding" and kept["record"]["event"] == "Boom" and "cannot take it" in kept["error"]


def test_a_record_the_timeline_cannot_read_is_set_aside_and_the_rest_flow(make_client, fake_statsig, log_records):
    analytics, destination = make_client()
    analytics.track("Before")
    # A record of the right shape whose message id is not hex: to_event() cannot make an event of it.
    analytics.journal.append(b'["track",1714564800.0,"not-hex-not-hex-not-hex-not-hex",null,null,{"event":"Odd"},null,null]\n')
    analytics.track("After")
    assert analytics.flush(timeout=10)
    assert [e["eventName"] for e in fake_statsig.events] == ["segment_track:Before", "segment_track:After"]
    assert analytics.worker.quarantined == 1 and "set aside" in log_records.text
    kept = json.loads(open(os.path.join(analytics.storage_dir, "quarantine.jsonl")).read())
    assert kept["where"] == "timeline" and '"Odd"' in kept["record"]


# --- 14: batches within the receiver's byte limits -----------------------------------------
def test_segment_batches_stay_under_500_kb_and_an_oversized_event_goes_alone(tmp_path, fake_segment_cdn, log_records):
    write_key = "wk-bytes"
    fake_segment_cdn.set_settings(write_key, {"integrations": {}})
    analytics = Analytics(write_key, storage_dir=tmp_path, cdn_url=fake_segment_cdn.url,
                          api_url=fake_segment_cdn.api_url, flush_at=1000, flush_interval=0.05)
    try:
        for i in range(100):
            analytics.track("Six KB", {"i": i, "blob": "x" * 6000})
        analytics.track("Too Big", {"blob": "y" * 40_000})
        for i in range(99):
            analytics.track("Small", {"i": i})
        assert analytics.flush(timeout=20)
        names = [e["event"] for e in fake_segment_cdn.cloud_events]
        assert names.count("Six KB") == 100 and names.count("Small") == 99
        assert all(r.status == 200 for r in fake_segment_cdn.requests if r.path == "/v1/batch")
        assert all(len(r.raw) <= 500_000 for r in fake_segment_cdn.requests if r.path == "/v1/batch")
        segment = analytics.find(SegmentDestination)
        assert segment.stats.snapshot()["dropped"] == 1
        assert "Too Big" in log_records.text and "32" in log_records.text
    finally:
        analytics.shutdown(2)


def test_the_fake_segment_api_enforces_segments_limits(fake_segment_cdn):
    import requests

    fake_segment_cdn.set_settings("wk", {"integrations": {}})
    url = fake_segment_cdn.api_url + "/v1/batch"
    big = {"batch": [{"type": "track", "event": "x", "properties": {"b": "z" * 40_000}}], "writeKey": "wk"}
    assert requests.post(url, json=big, auth=("wk", ""), timeout=5).status_code == 400
    many = {"batch": [{"type": "track", "event": "x", "properties": {"b": "z" * 6000}}] * 100, "writeKey": "wk"}
    assert requests.post(url, json=many, auth=("wk", ""), timeout=5).status_code == 400
    fine = {"batch": [{"type": "track", "event": "x", "properties": {"b": "z" * 6000}}] * 10, "writeKey": "wk"}
    assert requests.post(url, json=fine, auth=("wk", ""), timeout=5).status_code == 200
