"""Deep links on Android -> analytics.open_url(url, referrer): the intent that launched
the app, and each new one while it runs (python-for-android's
``android.activity.bind(on_new_intent=...)``), as analytics-kotlin's trackDeepLinks.
Elsewhere (desktop, iOS) nothing is bound: call ``analytics.open_url`` from the app."""
from __future__ import annotations

import logging

TYPE_CHECKING = False  # mypy reads the block below; at run time typing stays unloaded
if TYPE_CHECKING:
    from typing import Any, Optional, Protocol

    class DeepLinkAnalytics(Protocol):  # an Analytics, or anything with open_url
        def open_url(self, url: str, referrer: Optional[str] = None) -> None: ...

log = logging.getLogger("segment_statsig")

EXTRA_REFERRER = "android.intent.extra.REFERRER"            # a Uri (Intent.EXTRA_REFERRER)
EXTRA_REFERRER_NAME = "android.intent.extra.REFERRER_NAME"  # its text form


def _referrer(intent: Any) -> Optional[str]:
    """Who sent the link, as analytics-kotlin reads it: the referrer extra, as a Uri or as text."""
    uri = intent.getParcelableExtra(EXTRA_REFERRER)
    if uri is not None:
        return str(uri.toString())
    name = intent.getStringExtra(EXTRA_REFERRER_NAME)
    return str(name) if name else None


class DeepLinkBinding:
    def __init__(self, analytics: DeepLinkAnalytics, kivy_platform: Optional[str]) -> None:
        self.analytics = analytics
        self.activity: Any = None
        if kivy_platform != "android":
            return
        try:
            from android import activity  # type: ignore[import-not-found]  # python-for-android's module

            activity.bind(on_new_intent=self.on_new_intent)
            self.activity = activity
        except Exception as error:  # not a python-for-android build: no intents to follow
            log.warning("deep links: android.activity unavailable (%s)", error)
        try:
            from jnius import autoclass

            self.on_new_intent(autoclass("org.kivy.android.PythonActivity").mActivity.getIntent())
        except Exception as error:
            log.warning("deep links: the launch intent is unavailable (%s)", error)

    def on_new_intent(self, intent: Any) -> None:
        """An intent: tracked as Deep Link Opened when it carries a URL (a launcher tap does not)."""
        try:
            url = intent.getDataString() if intent is not None else None
            if url:
                self.analytics.open_url(str(url), _referrer(intent))
        except Exception:  # analytics must never take the app down
            log.exception("deep links: could not track an intent")

    def unbind(self) -> None:
        if self.activity is not None:
            self.activity.unbind(on_new_intent=self.on_new_intent)
            self.activity = None


def track_deep_links(analytics: DeepLinkAnalytics, kivy_platform: Optional[str] = None) -> DeepLinkBinding:
    """Track the app's deep links (on Android; elsewhere a binding that does nothing).
    Call it in ``build()``. Returns a DeepLinkBinding (``.unbind()``)."""
    if kivy_platform is None:
        from kivy.utils import platform as kivy_platform  # type: ignore[no-redef]
    return DeepLinkBinding(analytics, kivy_platform)
