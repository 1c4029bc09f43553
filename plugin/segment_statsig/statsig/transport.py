"""The narrow seam to Statsig's HTTP API: one POST of a batch to {api_url}/log_event,
with the headers Statsig's SDKs send."""
from __future__ import annotations

import time

from ..delivery.http import HttpSender, check_api_url
from ..version import __version__

SDK_TYPE = "segment-statsig-python"
DEFAULT_API_URL = "https://events.statsigapi.net/v1"


class StatsigTransport:
    def __init__(self, api_url, timeout=10.0, use_gzip=True):
        self.http = HttpSender(check_api_url(api_url) + "/log_event", timeout, use_gzip, json_reply=True)

    def send(self, api_key, texts, statsig_metadata_json):
        body = '{"events":[' + ",".join(texts) + '],"statsigMetadata":' + statsig_metadata_json + "}"
        headers = {
            "Content-Type": "application/json",
            "STATSIG-API-KEY": api_key,
            "STATSIG-CLIENT-TIME": str(int(time.time() * 1000)),
            "STATSIG-SDK-TYPE": SDK_TYPE,
            "STATSIG-SDK-VERSION": __version__,
            "STATSIG-EVENT-COUNT": str(len(texts)),
        }
        return self.http.post(body.encode("utf-8"), headers, secret=api_key)

    def close(self):
        self.http.close()
