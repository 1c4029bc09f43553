"""The narrow seam to Statsig's HTTP API: where requests go (each endpoint's default and
where it comes from), what they carry (an event's wire shape, statsigMetadata, the
headers) and the two POSTs, a batch of events and an initialize. Nothing else in the
Statsig destination builds a request."""
from __future__ import annotations

import time

from ..analytics.jsonsafe import compact as _encode
from ..analytics.jsonsafe import dumps as encode_metadata  # the C encoder made once: metadata is a flat dict of str
from ..delivery.http import HttpSender
from ..delivery.urls import check_url
from ..version import __version__

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Tuple

    from ..delivery.http import SendResult

SDK_TYPE = "segment-statsig-python"

# Initialize (gate and experiment values): the default of Statsig's current client SDKs,
# @statsig/js-client 3.x (client-core NetworkConfig: initialize "https://featureassets.org/v1").
DEFAULT_INITIALIZE_URL = "https://featureassets.org/v1/initialize"
# Events: Statsig's HTTP API ("POST https://events.statsigapi.net/v1/log_event", the key in
# STATSIG-API-KEY), the form this destination sends; Statsig's Swift and Android SDKs log
# to the same host.
DEFAULT_LOG_EVENT_URL = "https://events.statsigapi.net/v1/log_event"
# The most an initialize reply may hold, decompressed: every gate, config and layer of a
# large project is a few MB; beyond this it is refused as the endpoint's error.
INITIALIZE_REPLY_BYTES = 8 * 1024 * 1024
# Config specs hold every rule of the project: a larger bound than one user's reply.
SPECS_REPLY_BYTES = 32 * 1024 * 1024
# Config specs (on-device evaluation): the default of Statsig's JS on-device client 3.x
# (client-core NetworkConfig: download_config_specs "https://api.statsigcdn.com/v1").
DEFAULT_CONFIG_SPECS_URL = "https://api.statsigcdn.com/v1/download_config_specs"


def config_specs_endpoint(api_url: Optional[str] = None) -> str:
    """Where config specs come from: `api_url` + /download_config_specs, or the default."""
    return check_url(api_url) + "/download_config_specs" if api_url is not None else DEFAULT_CONFIG_SPECS_URL


def endpoints(api_url: Optional[str] = None, initialize_url: Optional[str] = None,
              log_event_url: Optional[str] = None) -> Tuple[str, str]:
    """(initialize URL, log_event URL). `api_url`, when given, is the base of both
    (as Statsig's networkConfig.api); a URL given for one endpoint wins for that one."""
    base = check_url(api_url) if api_url is not None else None
    initialize = (check_url(initialize_url, "initialize_url") if initialize_url is not None
                  else base + "/initialize" if base is not None else DEFAULT_INITIALIZE_URL)
    log_event = (check_url(log_event_url, "log_event_url") if log_event_url is not None
                 else base + "/log_event" if base is not None else DEFAULT_LOG_EVENT_URL)
    return initialize, log_event


def statsig_metadata(stable_id: Optional[str], session_id: str) -> Dict[str, Optional[str]]:
    return {"sdkType": SDK_TYPE, "sdkVersion": __version__, "stableID": stable_id, "sessionID": session_id}


def headers(api_key: str, event_count: Optional[int] = None) -> Dict[str, str]:
    out = {
        "Content-Type": "application/json",
        "STATSIG-API-KEY": api_key,
        "STATSIG-CLIENT-TIME": str(int(time.time() * 1000)),
        "STATSIG-SDK-TYPE": SDK_TYPE,
        "STATSIG-SDK-VERSION": __version__,
    }
    if event_count is not None:
        out["STATSIG-EVENT-COUNT"] = str(event_count)
    return out


_name_json: Dict[str, str] = {}  # eventName -> its JSON: apps use a few names over and over


def event_text(event: Dict[str, Any], user_json: Optional[str] = None) -> str:
    """One Statsig event as JSON, in the wire order eventName, user, time, value,
    metadata (then any other field, such as an exposure's secondaryExposures).
    `user_json`: the user's JSON when it is already made (consecutive events share one)."""
    name = event["eventName"]
    name_json = _name_json.get(name)
    if name_json is None:
        if len(_name_json) >= 1024:
            _name_json.clear()
        name_json = _name_json[name] = _encode(name)
    parts = [f'{{"eventName":{name_json},"user":{user_json if user_json is not None else _encode(event["user"])},'
             f'"time":{event["time"]},']
    value = event.get("value")
    if value is not None:
        parts.append(f'"value":{_encode(value) if isinstance(value, str) else repr(value)},')
    parts.append(f'"metadata":{encode_metadata(event["metadata"])}')
    for key, item in event.items():
        if key not in _WIRE_FIELDS:
            parts.append(f",{_encode(key)}:{_encode(item)}")
    parts.append("}")
    return "".join(parts)


_WIRE_FIELDS = frozenset({"eventName", "user", "time", "value", "metadata"})


class StatsigTransport:
    """The two requests, each on its own kept-alive connection (the delivery thread
    sends events, the values thread initializes)."""

    def __init__(self, initialize_url: str, log_event_url: str, timeout: float = 10.0,
                 use_gzip: bool = True) -> None:
        self.events = HttpSender(log_event_url, timeout, use_gzip, json_reply=True)
        self.values = HttpSender(initialize_url, timeout, False, reply_limit=None,
                                 max_reply_bytes=INITIALIZE_REPLY_BYTES)
        self.timeout = timeout
        self.specs: Optional[HttpSender] = None  # made for the key (it is in the URL), on the values thread

    def send_events(self, api_key: str, texts: List[str], statsig_metadata_json: str) -> SendResult:
        body = '{"events":[' + ",".join(texts) + '],"statsigMetadata":' + statsig_metadata_json + "}"
        return self.events.post(body.encode("utf-8"), headers(api_key, len(texts)), secret=api_key)

    def initialize(self, api_key: str, user: Dict[str, Any], metadata: Dict[str, Any]) -> SendResult:
        """Statsig's client initialize: every gate, config and layer evaluated for `user`,
        names hashed with djb2. The reply text is kept whole."""
        body = _encode({"user": user, "hash": "djb2", "statsigMetadata": metadata}).encode("utf-8")
        return self.values.post(body, headers(api_key), secret=api_key)

    def config_specs(self, url: str, api_key: str, session_id: str) -> SendResult:
        """GET the config specs as Statsig's JS on-device client does: the key in the query."""
        from urllib.parse import urlencode

        full = url + "?" + urlencode({"k": api_key, "st": SDK_TYPE, "sv": __version__, "sid": session_id})
        if self.specs is None or self.specs.url != full:
            if self.specs is not None:
                self.specs.close()
            self.specs = HttpSender(full, self.timeout, False, reply_limit=None,
                                     max_reply_bytes=SPECS_REPLY_BYTES)
        return self.specs.get(secret=api_key)

    def prepare(self) -> None:
        self.events.prepare()

    def close(self) -> None:
        self.events.close()
        self.values.close()
        if self.specs is not None:
            self.specs.close()
