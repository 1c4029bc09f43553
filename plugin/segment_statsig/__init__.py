"""Segment's Statsig destination in device mode.

Importing this package is cheap: names load on first use (PEP 562), and the
network stack (requests) loads on a worker thread, off the app's start path.
"""
from __future__ import annotations

from .version import __version__

TYPE_CHECKING = False  # type checkers read the names below; at run time they load on first use
if TYPE_CHECKING:
    from typing import Any, List

    from .analytics.client import Analytics as Analytics
    from .analytics.plugin import DestinationPlugin as DestinationPlugin
    from .analytics.plugin import EventPlugin as EventPlugin
    from .analytics.plugin import Plugin as Plugin
    from .analytics.plugin import PluginType as PluginType
    from .analytics.plugin import UpdateType as UpdateType
    from .analytics.errors import AnalyticsError as AnalyticsError
    from .analytics.flush_policies import BackgroundFlushPolicy as BackgroundFlushPolicy
    from .analytics.flush_policies import CountFlushPolicy as CountFlushPolicy
    from .analytics.flush_policies import FlushPolicy as FlushPolicy
    from .analytics.flush_policies import FrequencyFlushPolicy as FrequencyFlushPolicy
    from .analytics.flush_policies import RadioFlushPolicy as RadioFlushPolicy
    from .analytics.flush_policies import StartupFlushPolicy as StartupFlushPolicy
    from .analytics.user_info import UserInfo as UserInfo
    from .consent.manager import ConsentManager as ConsentManager
    from .delivery.stats import DeliveryStats as DeliveryStats
    from .segment.destination import SegmentDestination as SegmentDestination
    from .statsig.destination import StatsigDestination as StatsigDestination
    from .statsig.on_device.reply import OnDeviceEvaluator as OnDeviceEvaluator

_EXPORTS = {
    "Analytics": "segment_statsig.analytics.client",
    "Plugin": "segment_statsig.analytics.plugin",
    "EventPlugin": "segment_statsig.analytics.plugin",
    "DestinationPlugin": "segment_statsig.analytics.plugin",
    "PluginType": "segment_statsig.analytics.plugin",
    "UpdateType": "segment_statsig.analytics.plugin",
    "SegmentDestination": "segment_statsig.segment.destination",
    "StatsigDestination": "segment_statsig.statsig.destination",
    "OnDeviceEvaluator": "segment_statsig.statsig.on_device.reply",
    "DeliveryStats": "segment_statsig.delivery.stats",
    "ConsentManager": "segment_statsig.consent.manager",
    "FlushPolicy": "segment_statsig.analytics.flush_policies",
    "CountFlushPolicy": "segment_statsig.analytics.flush_policies",
    "FrequencyFlushPolicy": "segment_statsig.analytics.flush_policies",
    "StartupFlushPolicy": "segment_statsig.analytics.flush_policies",
    "RadioFlushPolicy": "segment_statsig.analytics.flush_policies",
    "BackgroundFlushPolicy": "segment_statsig.analytics.flush_policies",
    "AnalyticsError": "segment_statsig.analytics.errors",
    "UserInfo": "segment_statsig.analytics.user_info",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'segment_statsig' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(__all__)
