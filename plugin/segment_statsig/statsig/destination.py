"""StatsigDestination: Segment's Statsig destination in device mode.

The life of a call here: the timeline worker hands over a Segment event;
track/screen/page become a Statsig event (mapping.py) carrying the user of that
moment (user.py); QueuedDestination stores it in the durable queue at the next
commit, and its delivery worker sends batches through the transport
(transport.py), removing what Statsig accepted. identify only updates the user;
reset forgets it.
"""
from __future__ import annotations

import logging
import uuid

from ..analytics.queued_destination import QueuedDestination, encode
from ..version import __version__
from .mapping import to_statsig_event, user_key
from ..analytics.http import check_api_url
from .transport import DEFAULT_API_URL, SDK_TYPE, StatsigTransport
from .user import build_user

log = logging.getLogger("segment_statsig")


class StatsigDestination(QueuedDestination):
    key = "Statsig"
    queue_file = "statsig-queue.sqlite3"

    def __init__(self, api_key=None, *, api_url=DEFAULT_API_URL, allow_server_secret=False,
                 timeout=10.0, gzip=True, **queue_options):
        super().__init__(**queue_options)
        self.api_url = check_api_url(api_url)
        self.allow_server_secret = allow_server_secret
        self._key_given = api_key is not None
        self._api_key = self._checked_key(api_key) if api_key is not None else None
        self.transport = StatsigTransport(self.api_url, timeout=timeout, use_gzip=gzip)
        self.session_id = str(uuid.uuid4())
        self._traits = {}
        self._traits_version = 0
        self._user_cache = (None, None, None)
        self._name_cache = (None, "")  # (eventName, its JSON)  # (key, user dict, its JSON): consecutive events share a user

    def __repr__(self):
        return f"<StatsigDestination api_url={self.api_url!r} api_key={'<set>' if self._api_key else None}>"

    # --- the key --------------------------------------------------------------
    def _checked_key(self, key):
        if not isinstance(key, str) or not key.strip():
            raise ValueError("the Statsig api_key must be a non-empty str")
        if key.startswith("secret-") and not self.allow_server_secret:
            raise ValueError(
                "a Statsig server secret key (secret-...) must not ship inside an app: anyone who unpacks "
                "the app can read it. Use a client SDK key (client-...), or pass allow_server_secret=True "
                "if you accept that risk.")
        return key.strip()

    def update(self, settings, update_type):
        """Without an api_key of its own, the key comes from integrations.Statsig.apiKey."""
        if self._key_given:
            return
        block = (settings.get("integrations") or {}).get("Statsig")
        key = block.get("apiKey") if isinstance(block, dict) else None
        if key is None:
            return
        try:
            self._api_key = self._checked_key(key)
        except ValueError as error:
            self._api_key = None
            self.stats.error(str(error))
            log.error("Statsig: key from settings refused: %s Events stay queued.", error)
            return
        self.flush()

    def ready(self):
        return self._api_key is not None

    # --- events ---------------------------------------------------------------
    def setup(self, analytics):
        super().setup(analytics)
        self._traits = analytics.traits

    def track(self, event):
        key = (self._traits_version, *user_key(event))
        cached_key, user, user_json = self._user_cache
        if cached_key != key:
            user = build_user(event.get("userId"), event.get("anonymousId"), self._traits, event.get("context") or {})
            user_json = encode(user)
            self._user_cache = (key, user, user_json)
        statsig_event = to_statsig_event(event, self._traits, user)
        if statsig_event["user"] is user:  # splice the user's JSON in rather than encode it again
            name = statsig_event["eventName"]
            if self._name_cache[0] != name:
                self._name_cache = (name, encode(name))
            value = statsig_event.get("value")
            if value is not None:
                value = encode(value) if isinstance(value, str) else repr(value)
            text = (f'{{"eventName":{self._name_cache[1]},"user":{user_json},"time":{statsig_event["time"]},'
                    + ("" if value is None else f'"value":{value},')
                    + f'"metadata":{encode(statsig_event["metadata"])}}}')
            self.enqueue(statsig_event, text, event.get("messageId"))
        else:
            self.enqueue(statsig_event, message_id=event.get("messageId"))
        return event

    screen = page = track

    def identify(self, event):
        traits = event.get("traits")
        if traits:
            self._traits = {**self._traits, **traits}
            self._traits_version += 1
        return event

    def reset(self):
        self._traits = {}
        self._traits_version += 1

    @property
    def user(self):
        """The Statsig user the next event will carry, less its context fields."""
        analytics = self.analytics
        if analytics is None:
            return build_user(None, None, self._traits, {})
        return build_user(analytics.user_id, analytics.anonymous_id, self._traits, {})

    # --- sending --------------------------------------------------------------
    def send(self, texts):
        analytics = self.analytics
        metadata = encode({"sdkType": SDK_TYPE, "sdkVersion": __version__,
                           "stableID": analytics.anonymous_id if analytics is not None else None,
                           "sessionID": self.session_id})
        return self.transport.send(self._api_key, texts, metadata)

    def shutdown(self, timeout):
        stopped = super().shutdown(timeout)
        if stopped:
            self.transport.close()
        return stopped
