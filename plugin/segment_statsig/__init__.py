"""Segment's Statsig destination in device mode.

Importing this package is cheap: names load on first use (PEP 562), and the
network stack (requests) loads on a worker thread, off the app's start path.
"""
from .version import __version__

_EXPORTS = {
    "Analytics": "segment_statsig.analytics.client",
    "Plugin": "segment_statsig.analytics.plugin",
    "EventPlugin": "segment_statsig.analytics.plugin",
    "DestinationPlugin": "segment_statsig.analytics.plugin",
    "PluginType": "segment_statsig.analytics.plugin",
    "UpdateType": "segment_statsig.analytics.plugin",
    "SegmentDestination": "segment_statsig.segment.destination",
    "StatsigDestination": "segment_statsig.statsig.destination",
    "DeliveryStats": "segment_statsig.delivery.stats",
    "ConsentManager": "segment_statsig.consent.manager",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'segment_statsig' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
