"""What analytics-kotlin and analytics-swift give an app beyond the calls: the options
(flush policies, which lifecycle events, anonymous IDs, an error handler), deep links,
plugin look-ups, enrichment functions, user info subscriptions. A base class of
Analytics, kept apart so that the client stays the calls and their journal."""
from __future__ import annotations

import logging
import threading

from .flush_policies import FlushPolicies, default_policies
from .lifecycle import Lifecycle, tracked_events
from .user_info import UserInfo, UserInfoSubscriptions

log = logging.getLogger("segment_statsig")

TYPE_CHECKING = False  # mypy reads the block below; at run time typing stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Type, TypeVar, Union

    from .._typing import Event
    from .enrichment import ClosurePlugin
    from .errors import AnalyticsError
    from .flush_policies import FlushPolicy
    from .settings import SettingsLoader
    from .identity import Identity
    from .plugin import Plugin
    from .user_info import UserInfo, UserInfoSubscriptions

    P = TypeVar("P", bound=Plugin)


class Conveniences:
    if TYPE_CHECKING:
        identity: Identity
        settings_loader: Optional[SettingsLoader]

        def add(self, plugin: P) -> P: ...
        def _all_plugins(self) -> List[Plugin]: ...
        def track(self, event: str, properties: Optional[Mapping[str, Any]] = None) -> None: ...

    def _app_options(self, flush_at: Optional[int], flush_interval: Optional[float], flush_policies: Optional[Iterable[FlushPolicy]],
                     track_lifecycle_events: Union[bool, Iterable[str]], settings_max_age: float,
                     anonymous_id_generator: Optional[Callable[[], str]],
                     error_handler: Optional[Callable[[AnalyticsError], None]]) -> None:
        """The constructor's options for these (checked: a bad one is a TypeError / ValueError)."""
        # The flush policies decide when a batch is due (analytics/flush_policies.py);
        # flush_at / flush_interval are the shorthand for count and frequency ones; given
        # neither, RadioFlushPolicy.
        self.flush_policies = FlushPolicies(default_policies(flush_at, flush_interval)
                                            if flush_policies is None else flush_policies)
        # With no count policy, calls still wake the worker by the burst batch (1,000).
        self.flush_at = self.flush_policies.flush_at or 1000
        self.flush_interval = self.flush_policies.flush_interval or flush_interval or 30.0
        tracked = tracked_events(track_lifecycle_events)
        self.track_lifecycle_events = bool(tracked)
        self.lifecycle = Lifecycle(self, tracked)
        self.settings_max_age = settings_max_age
        if anonymous_id_generator is not None and not callable(anonymous_id_generator):
            raise TypeError("anonymous_id_generator must be callable: fn() -> str")
        self.anonymous_id_generator = anonymous_id_generator
        self.error_handler = error_handler
        if error_handler is not None and not callable(error_handler):
            raise TypeError("error_handler must be callable: fn(error)")
        self.user_info = UserInfoSubscriptions()
        self.call_enrichments: Dict[str, Callable[[Event], Optional[Event]]] = {}  # per-call functions, by message id
        self._error_forwarder: Optional[logging.Handler] = None

    def _listen_for_errors(self) -> None:
        if self.error_handler is not None:
            from .errors import ErrorForwarder

            self._error_forwarder = ErrorForwarder(self, self.error_handler)
            log.addHandler(self._error_forwarder)

    def _stop_listening_for_errors(self) -> None:
        if self._error_forwarder is not None:
            log.removeHandler(self._error_forwarder)

    @property
    def settings_thread(self) -> Optional[threading.Thread]:
        return self.settings_loader.thread if self.settings_loader is not None else None

    def _user_info(self) -> UserInfo:
        identity = self.identity
        return UserInfo(identity.anonymous_id, identity.user_id, dict(identity.traits))

    def open_url(self, url: str, referrer: Optional[str] = None,
                 properties: Optional[Mapping[str, Any]] = None) -> None:
        """Track `Deep Link Opened` with `url`, `referrer` and every query parameter
        (analytics-kotlin's trackDeepLinks, analytics-swift's openURL)."""
        from .deep_links import DEEP_LINK_OPENED, deep_link_properties

        self.track(DEEP_LINK_OPENED, deep_link_properties(url, referrer, properties))

    def find_all(self, plugin_class: Type[P]) -> List[P]:
        """Every plugin of that class, destinations' own plugins included (analytics-kotlin's findAll)."""
        return [plugin for plugin in self._all_plugins() if isinstance(plugin, plugin_class)]

    def add_enrichment(self, fn: Callable[[Event], Optional[Event]]) -> ClosurePlugin:
        """An enrichment plugin made of `fn(event) -> event or None` (analytics-swift's
        add(enrichment:)); remove it with remove(the returned plugin)."""
        from .enrichment import ClosurePlugin

        return self.add(ClosurePlugin(fn))

    def subscribe_to_user_info(self, fn: Callable[[UserInfo], None]) -> Callable[[], None]:
        """fn(UserInfo(anonymous_id, user_id, traits)) now and after each identify, alias
        and reset, on a thread of its own; returns the function that unsubscribes."""
        return self.user_info.subscribe(fn, self._user_info())
