"""The fake Segment CDN: settings per write key, its faults, and the batch API with Basic auth."""
import base64
import gzip
import json

import pytest
import requests

from segment_statsig.testing import FakeSegmentCDN

from .harness_posts import KEY


# -- FakeSegmentCDN -----------------------------------------------------------------------------

SETTINGS = {"integrations": {"Statsig": {"apiKey": KEY}, "Segment.io": {"apiKey": "wk-1"}}}


def test_cdn_serves_settings_per_write_key(fake_segment_cdn):
    fake_segment_cdn.set_settings("wk-1", SETTINGS)
    r = requests.get(fake_segment_cdn.url + "/v1/projects/wk-1/settings", timeout=5)
    assert r.status_code == 200 and r.json() == SETTINGS
    assert requests.get(fake_segment_cdn.url + "/v1/projects/other/settings", timeout=5).status_code == 404
    assert [r.status for r in fake_segment_cdn.settings_requests] == [200, 404]


def test_cdn_error_status_and_faults(fake_segment_cdn):
    fake_segment_cdn.set_error("wk-2", 500)
    assert requests.get(fake_segment_cdn.url + "/v1/projects/wk-2/settings", timeout=5).status_code == 500
    fake_segment_cdn.set_settings("wk-2", SETTINGS)
    fake_segment_cdn.respond_with_statuses([503])
    assert requests.get(fake_segment_cdn.url + "/v1/projects/wk-2/settings", timeout=5).status_code == 503
    assert requests.get(fake_segment_cdn.url + "/v1/projects/wk-2/settings", timeout=5).json() == SETTINGS


def _basic(key):
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def test_cdn_batch_with_basic_auth(fake_segment_cdn):
    fake_segment_cdn.set_settings("wk-1", SETTINGS)
    body = {"batch": [{"type": "track", "event": "A", "integrations": {"Statsig": False}}], "sentAt": "x"}
    assert requests.post(fake_segment_cdn.api_url + "/v1/batch", json=body, headers=_basic("wk-1"),
                         timeout=5).status_code == 200
    assert requests.post(fake_segment_cdn.api_url + "/v1/batch", json=body, headers=_basic("wk-x"),
                         timeout=5).status_code == 401
    assert requests.post(fake_segment_cdn.api_url + "/v1/batch", json=body, timeout=5).status_code == 401
    gz = gzip.compress(json.dumps(body).encode())
    assert requests.post(fake_segment_cdn.api_url + "/v1/batch", data=gz,
                         headers={**_basic("wk-1"), "Content-Encoding": "gzip"}, timeout=5).status_code == 200
    assert requests.post(fake_segment_cdn.api_url + "/v1/batch", data=b"{}", headers=_basic("wk-1"),
                         timeout=5).status_code == 400
    assert fake_segment_cdn.batches == [body, body]
    assert [e["event"] for e in fake_segment_cdn.cloud_events] == ["A", "A"]


def test_cdn_unexpected_request_surfaces():
    with FakeSegmentCDN() as cdn:
        assert requests.get(cdn.url + "/v2/nothing", timeout=5).status_code == 404
        with pytest.raises(AssertionError, match="unexpected GET /v2/nothing"):
            cdn.check_assertions()
