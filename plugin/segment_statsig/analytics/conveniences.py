"""What analytics-kotlin and analytics-swift give an app beyond the calls: deep links,
plugin look-ups, enrichment functions, user info subscriptions. A base class of
Analytics, kept apart so that the client stays the calls and their journal."""
from __future__ import annotations

TYPE_CHECKING = False  # mypy reads the block below; at run time typing stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable, List, Mapping, Optional, Type, TypeVar

    from .._typing import Event
    from .enrichment import ClosurePlugin
    from .identity import Identity
    from .plugin import Plugin
    from .user_info import UserInfo, UserInfoSubscriptions

    P = TypeVar("P", bound=Plugin)


class Conveniences:
    if TYPE_CHECKING:
        identity: Identity
        user_info: UserInfoSubscriptions

        def add(self, plugin: P) -> P: ...
        def _all_plugins(self) -> List[Plugin]: ...
        def track(self, event: str, properties: Optional[Mapping[str, Any]] = None) -> None: ...
        def _user_info(self) -> UserInfo: ...

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
