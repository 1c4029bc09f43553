"""The cloud leg (SegmentDestination) beside segment-analytics-python, both posting
to the same loopback Segment API, for the same calls."""
import re

import pytest

from segment_statsig import Analytics, SegmentDestination, StatsigDestination

segment_python = pytest.importorskip("segment.analytics", reason="bench extra installs segment-analytics-python")

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|\+00:00)$")
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def shape(value):
    """Field names and value kinds, not values."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, str):
        if ISO.match(value):
            return "iso-8601"
        if UUID4.match(value):
            return "uuid4"
        return "str"
    return type(value).__name__


def test_cloud_payload_matches_segment_analytics_python(tmp_path, fake_segment_cdn, fake_statsig):
    fake_segment_cdn.set_settings("wk", {"integrations": {"Statsig": {"apiKey": "client-k"}}})
    ours = Analytics("wk", storage_dir=tmp_path, cdn_url=fake_segment_cdn.url, api_url=fake_segment_cdn.api_url,
                     flush_interval=0.05)
    ours.add(StatsigDestination(api_url=fake_statsig.url))
    ours.identify("u-1", {"plan": "pro"})
    ours.track("Order Completed", {"total": 10})
    assert ours.flush(timeout=10)
    ours.shutdown(2)
    our_batch = fake_segment_cdn.batches[-1]
    our_identify, our_track = our_batch["batch"]

    theirs = segment_python.Client("wk", host=fake_segment_cdn.api_url, sync_mode=True)
    theirs.identify("u-1", {"plan": "pro"}, anonymous_id=ours.anonymous_id)
    theirs.track("u-1", "Order Completed", {"total": 10}, anonymous_id=ours.anonymous_id)
    their_identify, their_track = [b["batch"][0] for b in fake_segment_cdn.batches[-2:]]

    assert set(our_batch) >= {"batch", "sentAt"} and ISO.match(our_batch["sentAt"])
    for our, their in ((our_identify, their_identify), (our_track, their_track)):
        for field in ("type", "userId", "anonymousId", "event", "properties", "traits"):
            assert our.get(field) == their.get(field), field
        for field in ("messageId", "timestamp"):
            assert shape(our[field]) == shape(their[field]), field
        assert set(their) - {"_metadata"} <= set(our), set(their) - set(our)
        assert shape(our["context"]["library"]) == shape(their["context"]["library"])
    # Device mode announced: Segment must not send these to Statsig again.
    assert our_track["_metadata"]["bundled"] == ["Statsig"]
    assert our_track["integrations"]["Statsig"] is False
    auth = [r for r in fake_segment_cdn.requests if r.path == "/v1/batch"][0].headers["Authorization"]
    assert auth == "Basic d2s6"  # base64("wk:"), as segment-analytics-python sends


def test_cloud_leg_only_with_a_write_key(tmp_path):
    device_only = Analytics(storage_dir=tmp_path / "a", settings={"integrations": {}})
    assert device_only.find(SegmentDestination) is None
    device_only.shutdown(1)
    with_key = Analytics("wk", storage_dir=tmp_path / "b", settings={"integrations": {}},
                         cdn_url="http://127.0.0.1:9", api_url="http://127.0.0.1:9", settings_timeout=0.5)
    assert with_key.find(SegmentDestination) is not None
    with_key.shutdown(0.2)
