"""The cloud leg: events to Segment's API (`{api_url}/v1/batch`, the write key as
basic auth), marked so Segment's servers do not send them to the device-mode
destinations (Statsig) a second time: `_metadata.bundled` lists those destinations'
keys and `integrations.<key>` is false for each."""
from __future__ import annotations

import base64
import json
import time

from ..analytics.events import iso_timestamp
from ..delivery.http import HttpSender
from ..delivery.urls import check_url
from ..delivery.queued_destination import QueuedDestination
from ..storage.files import SEGMENT_QUEUE

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, List

    from .._typing import Event
    from ..delivery.http import SendResult


class SegmentDestination(QueuedDestination):
    key = "Segment.io"
    queue_file = SEGMENT_QUEUE
    device_mode = False  # Segment's servers apply the workspace's filters to what it sends
    # Segment's batch API refuses (400) a request over 500 KB or an event over 32 KB;
    # as segment-analytics-python, batches stay under 475,000 bytes for the envelope's sake.
    max_batch_bytes = 475_000
    max_event_bytes = 32 * 1024

    def __init__(self, write_key: str, *, api_url: str = "https://api.segment.io", timeout: float = 15.0,
                 gzip: bool = True, **queue_options: Any) -> None:
        super().__init__(**queue_options)
        self.http = HttpSender(check_url(api_url, "api_url (Segment)") + "/v1/batch", timeout, gzip)
        self._write_key = write_key  # scrubbed from what the API answers (it may echo it)
        self._auth = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
        self._write_key_json = json.dumps(write_key)

    def __repr__(self) -> str:
        return f"<SegmentDestination url={self.http.url!r}>"

    def _to_cloud(self, event: Event) -> Event:
        # (analytics is set: events come only once this destination was added)
        bundled = [d.key for d in self.analytics.destinations()  # type: ignore[union-attr]
                   if d is not self and d.enabled and d.key]
        integrations = dict(event.get("integrations") or {})
        for key in bundled:
            integrations[key] = False
        event["integrations"] = integrations
        event["_metadata"] = {"bundled": bundled, "unbundled": []}
        self.enqueue(event, message_id=event.get("messageId"))
        return event

    track = identify = screen = page = group = alias = _to_cloud

    def prepare(self) -> None:
        self.http.prepare()

    def send(self, texts: List[str]) -> SendResult:
        # The key both as basic auth and in the body, as segment-analytics-python 2.x sends it.
        body = ('{"batch":[' + ",".join(texts) + '],"sentAt":"' + iso_timestamp(time.time())
                + '","writeKey":' + self._write_key_json + "}")
        headers = {"Content-Type": "application/json", "Authorization": self._auth}
        return self.http.post(body.encode("utf-8"), headers, secret=self._write_key)

    def shutdown(self, timeout: float) -> bool:
        stopped = super().shutdown(timeout)
        if stopped:
            self.http.close()
        return stopped
