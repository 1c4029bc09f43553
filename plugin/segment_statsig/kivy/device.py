"""Device context from Kivy: context.screen (window size, density), context.os and
context.device from kivy.utils.platform, and on Android from android.os.Build, with the
user's locale and time zone from java.util (Python's own say C.UTF-8 and UTC there)."""
from __future__ import annotations

import logging
import platform as _host

TYPE_CHECKING = False  # mypy reads the block below; at run time typing stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, Optional, Protocol, Tuple

    class ContextAnalytics(Protocol):  # an Analytics, or anything with its set_context()
        def set_context(self, **parts: Any) -> None: ...

log = logging.getLogger("segment_statsig")

_OS_NAMES = {"android": "Android", "ios": "iOS", "macosx": "macOS", "win": "Windows", "linux": "Linux"}


def _android_build() -> Tuple[Any, Any, Any, Any]:
    """(manufacturer, model, release, sdk) from android.os.Build, through pyjnius."""
    from jnius import autoclass  # present in every python-for-android build

    build = autoclass("android.os.Build")
    version = autoclass("android.os.Build$VERSION")
    return build.MANUFACTURER, build.MODEL, version.RELEASE, version.SDK_INT


def _android_locale() -> Tuple[str, str]:
    """(locale, time zone) the user chose, as Android has them: java.util.Locale's BCP 47
    tag (de-DE) and java.util.TimeZone's ID (Europe/Berlin). Under python-for-android,
    Python's locale module and /etc/localtime say en-US and UTC for every user."""
    from jnius import autoclass

    locale = autoclass("java.util.Locale").getDefault().toLanguageTag()
    zone = autoclass("java.util.TimeZone").getDefault().getID()
    return str(locale), str(zone)


def device_context(window: Any = None, kivy_platform: Optional[str] = None) -> Dict[str, Any]:
    """A dict for ``analytics.set_context(**...)``: screen, os and device (on Android
    also locale and timezone).

    ``window`` defaults to kivy.core.window.Window; ``kivy_platform`` to kivy.utils.platform.
    """
    if window is None:
        from kivy.core.window import Window as window  # type: ignore[no-redef]
    if kivy_platform is None:
        from kivy.utils import platform as kivy_platform  # type: ignore[no-redef]
    from kivy.metrics import Metrics

    width, height = (int(v) for v in window.size)
    # (kivy_platform is a str by now: given, or kivy.utils.platform)
    context: Dict[str, Any] = {
        "screen": {"width": width, "height": height, "density": round(float(Metrics.density), 3)},
        "os": {"name": _OS_NAMES.get(kivy_platform, _host.system() or kivy_platform),  # type: ignore[arg-type]
               "version": _host.release()},
        "device": {"type": kivy_platform if kivy_platform in ("android", "ios") else "desktop",
                   "model": _host.machine()},
    }
    if kivy_platform == "android":
        try:
            manufacturer, model, release, sdk = _android_build()
        except Exception as error:  # no pyjnius: keep what the host offers
            log.warning("device context: android.os.Build unavailable (%s)", error)
        else:
            context["os"]["version"] = str(release)
            context["os"]["sdk"] = int(sdk)
            context["device"].update(manufacturer=str(manufacturer), model=str(model))
        try:
            context["locale"], context["timezone"] = _android_locale()
        except Exception as error:  # no pyjnius: Python's own guesses stay
            log.warning("device context: java.util.Locale / TimeZone unavailable (%s)", error)
    elif kivy_platform == "ios":
        context["device"]["manufacturer"] = "Apple"
    return context


class DeviceContextBinding:
    def __init__(self, analytics: ContextAnalytics, window: Any, kivy_platform: Optional[str]) -> None:
        self.analytics = analytics
        self.window = window
        self.kivy_platform = kivy_platform
        self._uid: int = window.fbind("size", self._update)
        self._update()

    def _update(self, *_: Any) -> None:
        # Rotation or a resized desktop window: later events carry the new size.
        self.analytics.set_context(**device_context(self.window, self.kivy_platform))

    def unbind(self) -> None:
        if self._uid:
            self.window.unbind_uid("size", self._uid)
            self._uid = 0


def track_device_context(analytics: ContextAnalytics, window: Any = None,
                         kivy_platform: Optional[str] = None) -> DeviceContextBinding:
    """Set the device context now and again whenever the window size changes.
    Returns a handle with ``unbind()``."""
    if window is None:
        from kivy.core.window import Window as window  # type: ignore[no-redef]
    if kivy_platform is None:
        from kivy.utils import platform as kivy_platform  # type: ignore[no-redef]
    return DeviceContextBinding(analytics, window, kivy_platform)
