"""StatsigDestination: Segment's Statsig destination in device mode.

The life of a call here: the timeline worker hands over a Segment event;
track/screen/page become a Statsig event (mapping.py) carrying the user of that
moment (user.py); QueuedDestination stores it in the durable queue at the next
commit, and its delivery worker sends batches through the transport
(transport.py), removing what Statsig accepted. identify only updates the user;
reset forgets it.
"""
from __future__ import annotations

import json
import logging
from functools import partial

from ..delivery.queued_destination import QueuedDestination, encode
from ..storage.files import STATSIG_QUEUE
from . import transport
from .checks import ValueChecks
from .controls import MIN_AUTO_UPDATE_INTERVAL, ValueControls
from .listeners import Listeners
from .mapping import to_statsig_event, user_key
from .settings_check import settings_near_misses
from .transport import StatsigTransport, event_text, statsig_metadata
from .user import build_user

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, List, Mapping, Optional, Tuple

    from .._typing import Event, Settings
    from ..analytics.client import Analytics
    from ..analytics.plugin_types import UpdateType
    from ..delivery.http import SendResult
    from .feature_store import FeatureStore
    from .overrides import LocalOverrides
    from .session import Session

log = logging.getLogger("segment_statsig")


class StatsigDestination(ValueChecks, ValueControls, QueuedDestination):
    key = "Statsig"
    queue_file = STATSIG_QUEUE

    def __init__(self, api_key: Optional[str] = None, *, api_url: Optional[str] = None,
                 initialize_url: Optional[str] = None, log_event_url: Optional[str] = None,
                 allow_server_secret: bool = False, timeout: float = 10.0, gzip: bool = True,
                 environment: Optional[str] = None, private_traits: Any = (),
                 auto_value_update_interval: Optional[float] = None, on_device_evaluation: bool = False,
                 **queue_options: Any) -> None:
        super().__init__(**queue_options)
        if environment is not None and (not isinstance(environment, str) or not environment):
            raise ValueError("environment is a tier name such as 'staging' (or None)")
        if isinstance(private_traits, str) or not all(isinstance(t, str) for t in private_traits):
            raise TypeError("private_traits is a list of trait names")
        if auto_value_update_interval is not None and not auto_value_update_interval >= MIN_AUTO_UPDATE_INTERVAL:
            raise ValueError(f"auto_value_update_interval is at least {MIN_AUTO_UPDATE_INTERVAL:.0f} seconds (or None)")
        self.environment = environment  # -> statsigEnvironment.tier of every user sent
        self.private_traits = frozenset(private_traits)  # initialize's privateAttributes only, never an event
        self.auto_value_update_interval = auto_value_update_interval
        self.listeners = Listeners()
        self._overrides: Optional[LocalOverrides] = None
        self._session: Optional[Session] = None
        # on-device evaluation (statsig/on_device/): config specs answer every user, no initialize
        self.on_device_evaluation = bool(on_device_evaluation)
        self.config_specs_url = transport.config_specs_endpoint(api_url)
        self.initialize_url, self.log_event_url = transport.endpoints(api_url, initialize_url, log_event_url)
        self.api_url = self.log_event_url.rsplit("/", 1)[0]  # where events go, less the endpoint
        self.allow_server_secret = allow_server_secret
        self._key_given = api_key is not None
        self._api_key = self._checked_key(api_key) if api_key is not None else None
        #: why ready() is False, in words (None once a key is known)
        self.not_ready_reason: Optional[str] = (
            None if self._key_given else "no Statsig API key yet: waiting for the settings "
            "(settings['integrations']['Statsig']['apiKey'])")
        self.transport = StatsigTransport(self.initialize_url, self.log_event_url, timeout=timeout, use_gzip=gzip)
        self._traits: Dict[str, Any] = {}
        self._traits_version = 0
        self._user_cache: Tuple[Any, Any, Any] = (None, None, None)  # (key, user dict, its JSON): consecutive events share a user

    def __repr__(self) -> str:
        return (f"<StatsigDestination log_event_url={self.log_event_url!r} initialize_url={self.initialize_url!r} "
                f"api_key={'<set>' if self._api_key else None}>")

    # --- the key --------------------------------------------------------------
    def _checked_key(self, key: object) -> str:
        """The key, stripped; ValueError for a server secret (unless allowed) or a key no
        Statsig key looks like. The message never repeats the key."""
        if not isinstance(key, str) or not key.strip():
            raise ValueError("the Statsig api_key must be a non-empty str")
        key = key.strip()
        if key.lower().startswith("secret-") and not self.allow_server_secret:
            raise ValueError(
                "a Statsig server secret key (secret-...) must not ship inside an app: anyone who unpacks "
                "the app can read it. Use a client SDK key (client-...), or pass allow_server_secret=True "
                "if you accept that risk.")
        if not all("!" <= c <= "~" for c in key):
            # CR/LF would split the header it travels in; spaces and the like mean a bad copy.
            raise ValueError("the Statsig api_key holds whitespace, control or non-ASCII characters; "
                             "copy it again from Statsig's console (Project Settings > Keys)")
        return key

    def update(self, settings: Settings, update_type: UpdateType) -> None:
        """Without an api_key of its own, the key comes from integrations.Statsig.apiKey."""
        if self._key_given:
            return
        integrations = settings.get("integrations")
        block = integrations.get("Statsig") if isinstance(integrations, dict) else None
        key = block.get("apiKey") if isinstance(block, dict) else None
        if key is None:
            self._no_key("no Statsig API key: looked in settings['integrations']['Statsig']['apiKey'] (and "
                         f"StatsigDestination(api_key=...)){settings_near_misses(settings)}")
            return
        try:
            self._api_key = self._checked_key(key)
        except ValueError as error:
            self._api_key = None
            self._no_key(f"the key in settings['integrations']['Statsig']['apiKey'] was refused: {error}",
                         logging.ERROR)
            return
        self.not_ready_reason = None
        if self._feature_store is not None:
            self._feature_store.key_changed()
        self.ready_changed()

    def _no_key(self, reason: str, level: int = logging.WARNING) -> None:
        """Nothing can be sent or fetched: say why, once per reason (a settings refresh
        with the same mistake does not repeat it); events stay queued for a key."""
        self.stats.error(reason)
        if reason != self.not_ready_reason:
            log.log(level, "Statsig: %s. Events stay queued until a key arrives.", reason)
        self.not_ready_reason = reason

    def ready(self) -> bool:
        """True once a usable key is known; `not_ready_reason` says why not."""
        return self._api_key is not None

    def prepare(self) -> None:
        """On the delivery thread at start: load the network stack before the first batch."""
        self.transport.prepare()

    # --- events ---------------------------------------------------------------
    def setup(self, analytics: Analytics) -> None:
        again = self.analytics is analytics and self._feature_store is not None
        super().setup(analytics)
        self._traits = analytics.traits
        if not again:  # added again after remove(): the values store (and its thread) carries on
            from .overrides import LocalOverrides
            from .session import Session

            self._overrides = LocalOverrides(analytics.storage_dir,
                                             on_change=lambda: self.listeners.emit("overrides_updated"))
            self._session = Session(analytics.storage_dir)
            if self._feature_store is not None:
                self._feature_store.stop(0)
            self._values_setup(analytics)
            if self.listeners.wants("user_changed"):  # subscribed before the destination was added
                self._follow_identity()

    @property
    def session_id(self) -> str:
        """Statsig's session: new after 30 minutes idle or 4 hours in all, kept across restarts."""
        if self._session is None:
            from .session import Session

            self._session = Session(None)
        return self._session.current()

    def _event_user(self, user_id: Optional[str], anonymous_id: Optional[str], traits: Mapping[str, Any],
                    context: Mapping[str, Any]) -> Dict[str, Any]:
        """The user an event carries: no private trait; the environment's tier."""
        if self.private_traits:
            traits = {k: v for k, v in traits.items() if k not in self.private_traits}
        user = build_user(user_id, anonymous_id, traits, context)
        if self.environment is not None:
            user["statsigEnvironment"] = {"tier": self.environment}
        return user

    def track(self, event: Event) -> Event:
        key = (self._traits_version, *user_key(event))
        cached_key, user, user_json = self._user_cache
        if cached_key != key:
            user = self._event_user(event.get("userId"), event.get("anonymousId"), self._traits,
                                    event.get("context") or {})
            user_json = encode(user)
            self._user_cache = (key, user, user_json)
        statsig_event = to_statsig_event(event, self._event_traits(), user)
        # The user's JSON is spliced in when the event kept the shared user (no statsigCustomIDs...).
        text = event_text(statsig_event, user_json if statsig_event["user"] is user else None)
        self.enqueue(statsig_event, text, event.get("messageId"))
        return event

    screen = page = track

    def _event_traits(self) -> Dict[str, Any]:
        if not self.private_traits:
            return self._traits
        return {k: v for k, v in self._traits.items() if k not in self.private_traits}

    def identify(self, event: Event) -> Event:
        traits = event.get("traits")
        if traits:
            self._traits = {**self._traits, **traits}
            self._traits_version += 1
        self._values_refresh()
        return event

    def reset(self) -> None:
        super().reset()
        self._traits = {}
        self._traits_version += 1
        self._values_refresh()

    @property
    def user(self) -> Dict[str, Any]:
        """The Statsig user the next event will carry, less its context fields."""
        analytics = self.analytics
        if analytics is None:
            return self._event_user(None, None, self._traits, {})
        return self._event_user(analytics.user_id, analytics.anonymous_id, self._traits, {})

    # --- sending --------------------------------------------------------------
    def send(self, texts: List[str]) -> SendResult:
        analytics = self.analytics
        metadata = encode(statsig_metadata(analytics.anonymous_id if analytics is not None else None, self.session_id))
        # (the delivery worker sends only while ready(): a key is known)
        result = self.transport.send_events(self._api_key, texts, metadata)  # type: ignore[arg-type]
        if self._feature_store is not None:
            self._feature_store.radio_up()
        self._tell_listeners(texts, result)
        return result

    def _tell_listeners(self, texts: List[str], result: SendResult) -> None:
        """logs_flushed with the events Statsig accepted, error with what a failed send got."""
        from ..delivery import policy

        if policy.delivered(result.status):
            if self.listeners.wants("logs_flushed"):
                self.listeners.emit("logs_flushed", events=[json.loads(text) for text in texts])
        elif self.listeners.wants("error"):
            why = f"HTTP {result.status}" if result.status is not None else "network error"
            self.listeners.emit("error", tag="NetworkError", error=f"log_event failed: {why}: {result.reply[:200]}")

    def shutdown(self, timeout: float) -> bool:
        if self._feature_store is not None:
            self._feature_store.stop(min(timeout, 1.0))
        if self._session is not None:
            self._session.persist()
        self.listeners.stop(min(timeout, 1.0))
        stopped = super().shutdown(timeout)
        if stopped:
            self.transport.close()
        return stopped

    # --- gates, dynamic configs, experiments: the store (the checks: checks.py) ------
    # Values come from POST initialize_url on the store's own thread, from the first
    # call that needs them (or prefetch_values()); identify/reset fetch again.
    _feature_store: Optional[FeatureStore] = None

    def _values_setup(self, analytics: Analytics) -> None:
        from .feature_store import FeatureStore

        store: Any = FeatureStore
        if self.on_device_evaluation:
            from .on_device.store import OnDeviceStore

            store = partial(OnDeviceStore, specs_url=self.config_specs_url, session_id=self.session_id)
        self._feature_store = store(
            transport=self.transport, key_fn=lambda: self._api_key,
            identity_fn=lambda: (analytics.user_id, analytics.anonymous_id),
            allowed_fn=lambda: analytics.enabled,
            user_fn=self._values_user, metadata_fn=self._values_metadata,
            log_exposure=self._log_exposure, storage_dir=analytics.storage_dir,
            overrides=self._overrides, listeners=self.listeners,
            auto_update_interval=self.auto_value_update_interval)
        if self._bootstrap_specs is not None:
            self.set_config_specs(self._bootstrap_specs)

    _bootstrap_specs: Any = None

    def set_config_specs(self, specs: Any) -> bool:
        """On-device evaluation: use these config specs (a dict or its JSON text, e.g. a file
        shipped with the app) until newer ones arrive; reason ``Bootstrap``. False when the
        specs in use are newer. ValueError / TypeError when they are not config specs."""
        from .on_device.reply import parse_specs
        from .on_device.store import OnDeviceStore

        if not self.on_device_evaluation:
            raise ValueError("set_config_specs needs StatsigDestination(on_device_evaluation=True)")
        store = self._feature_store
        if not isinstance(store, OnDeviceStore):  # not added yet: used once it is
            self._bootstrap_specs = parse_specs(specs)
            return True
        return store.set_config_specs(specs)

    def _values_refresh(self) -> None:
        if self._feature_store is not None:
            self._feature_store.user_changed()

    def _values_user(self) -> Dict[str, Any]:
        """The Statsig user values are fetched for (and exposures carry): the current
        identity and traits, with the context fields events carry."""
        analytics = self.analytics
        assert analytics is not None  # the store that calls this is made by setup()
        return self._initialize_user(analytics.user_id, analytics.traits)

    def _initialize_user(self, user_id: Optional[str], traits: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
        """The user initialize is asked for: as events carry it, and the private traits
        in ``privateAttributes`` (targeting may use them; Statsig keeps them from events)."""
        analytics = self.analytics
        assert analytics is not None
        traits = dict(traits or {})
        user = self._event_user(user_id, analytics.anonymous_id, traits, analytics.context.current())
        private = {k: traits[k] for k in self.private_traits if k in traits}
        if private:
            user["privateAttributes"] = private
        return user

    def _values_metadata(self) -> Dict[str, Any]:
        assert self.analytics is not None  # the store that calls this is made by setup()
        return statsig_metadata(self.analytics.anonymous_id, self.session_id)

    def _log_exposure(self, event: Dict[str, Any]) -> None:
        """On the checking thread: journaled like a call (Analytics.journal_own), so an
        exposure keeps its place among the calls around the check and survives a kill;
        the timeline worker hands it back to own_event()."""
        assert self.analytics is not None  # a store exists only once the destination is added
        self.analytics.journal_own(self.key, event)

    def own_event(self, payload: Dict[str, Any], event: Event) -> None:
        """An exposure, on the timeline worker in call order: the user of that moment if
        the values' user was not known at the check; kept from Statsig when consent
        keeps the events of that moment from it."""
        analytics = self.analytics
        assert analytics is not None
        if payload.get("user") is None:
            payload["user"] = self._event_user(event.get("userId"), event.get("anonymousId"), self._traits,
                                               analytics.context.current())
        if not self._consent_admits():
            self.skipped(payload, "blocked")
            return
        self.enqueue(payload, event_text(payload), event.get("messageId"))

    def _consent_admits(self) -> bool:
        """What this destination's consent blockers make of an event stamped now (no
        plugin stamps an exposure, so ask for the stamp of this point of the timeline)."""
        assert self.analytics is not None
        stamp = None
        for plugin in self.analytics.timeline.all():
            preferences = getattr(plugin, "preferences", None)
            if callable(preferences):
                stamp = {category for category, given in preferences().items() if given is True}
        if stamp is None:
            return True
        for plugin in self.timeline.all():
            admits = getattr(plugin, "admits", None)
            if callable(admits) and not admits(stamp):
                return False
        return True
