"""Android's connectivity for the radio seam: ConnectivityManager's default-network-active
listener tells `analytics.network_active()` when the app's own traffic woke the radio,
and connectivity changes tell `analytics.network_available()` whether there is a network.

ConnectivityManager.NetworkCallback is an abstract class, and pyjnius implements Java
interfaces only (PythonJavaClass; kivy/pyjnius#243, #593), so the network's comings and
goings are read from the connectivity broadcast through python-for-android's
android.broadcast.BroadcastReceiver (an interface callback of its own), each asking
ConnectivityManager.getActiveNetwork(). Elsewhere than Android there is nothing to bind.
"""
from __future__ import annotations

import logging

TYPE_CHECKING = False  # mypy reads the block below; at run time typing stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable, List, Optional, Protocol

    class NetworkAnalytics(Protocol):  # an Analytics, or anything with these two calls
        def network_active(self) -> None: ...
        def network_available(self, available: bool) -> None: ...

log = logging.getLogger("segment_statsig")

CONNECTIVITY_CHANGE = "android.net.conn.CONNECTIVITY_CHANGE"


class NetworkBinding:
    def __init__(self, analytics: NetworkAnalytics, kivy_platform: str) -> None:
        self.analytics = analytics
        self._undo: List[Callable[[], None]] = []
        self._keep: List[Any] = []  # Java holds Python listeners weakly: kept alive here
        if kivy_platform == "android":
            try:
                self._bind_android()
            except Exception as error:  # no pyjnius, an old Android: the schedule works without it
                log.warning("network: Android's ConnectivityManager unavailable (%s); "
                            "the radio is known from our own requests only", error)

    def _bind_android(self) -> None:
        from jnius import PythonJavaClass, autoclass, java_method

        activity = autoclass("org.kivy.android.PythonActivity").mActivity
        service = autoclass("android.content.Context").CONNECTIVITY_SERVICE
        manager = activity.getSystemService(service)
        analytics = self.analytics

        class ActiveListener(PythonJavaClass):  # type: ignore[misc]  # (pyjnius has no types)
            __javainterfaces__ = ["android/net/ConnectivityManager$OnNetworkActiveListener"]
            __javacontext__ = "app"

            @java_method("()V")  # type: ignore[untyped-decorator]
            def onNetworkActive(self) -> None:
                try:
                    analytics.network_active()
                except Exception:  # a Java thread: nothing may escape into it
                    log.exception("network: network_active() failed")

        listener = ActiveListener()
        manager.addDefaultNetworkActiveListener(listener)
        self._keep.append(listener)
        self._undo.append(lambda: manager.removeDefaultNetworkActiveListener(listener))

        def changed(context: Any = None, intent: Any = None) -> None:
            try:
                analytics.network_available(manager.getActiveNetwork() is not None)
            except Exception:
                log.exception("network: network_available() failed")

        from android.broadcast import BroadcastReceiver  # type: ignore[import-not-found]  # python-for-android's module

        receiver = BroadcastReceiver(changed, actions=[CONNECTIVITY_CHANGE])
        receiver.start()
        self._keep.append(receiver)
        self._undo.append(receiver.stop)
        changed()  # as it is now: an app started offline is offline from its first call

    def unbind(self) -> None:
        undo, self._undo = self._undo, []
        for step in undo:
            try:
                step()
            except Exception as error:
                log.warning("network: unbinding failed (%s)", error)
        self._keep = []


def track_network(analytics: NetworkAnalytics, kivy_platform: Optional[str] = None) -> NetworkBinding:
    """On Android: the app's traffic and the network's state, told to `analytics` as they
    change. Returns a handle with ``unbind()``."""
    if kivy_platform is None:
        from kivy.utils import platform as kivy_platform  # type: ignore[no-redef]
    return NetworkBinding(analytics, str(kivy_platform))
