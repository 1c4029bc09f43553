"""Kivy glue for segment_statsig: the only part of the package that imports Kivy.

    from segment_statsig.kivy import track_screens, bind_lifecycle, track_device_context

    class MyApp(App):
        def build(self):
            self.flags = StatsigFlags(statsig)            # gates, experiments... as properties KV rules read
            root = Builder.load_file("my.kv")
            bind_lifecycle(self, analytics)               # Opened / Backgrounded / Foregrounded, shutdown
            track_screens(root.ids.screens, analytics)    # screen("Home"), screen("Catalog"), ...
            track_device_context(analytics)               # context.screen, os, device
            statsig.on("values_updated", on_main_thread(self.show_flags))  # Statsig listeners, on Kivy's thread
            track_deep_links(analytics)                   # Deep Link Opened, from Android intents
            track_network(analytics)                      # Android: the app's traffic and the network, for the radio
            return root

FeatureGate and ExperimentSwitch (in KV) show their children by a gate or an experiment
and log its exposure when shown (gates.py).

Each returns a handle whose ``unbind()`` undoes it (``on()`` returns the unsubscribe function;
``StatsigFlags.unbind_destination()``).
"""
from __future__ import annotations

from .deep_links import DeepLinkBinding, track_deep_links
import logging

from .device import DeviceContextBinding, device_context, track_device_context
from .flags import StatsigFlags
from .gates import ExperimentSwitch, FeatureGate, FeatureGateElse, Variant
from .lifecycle import LifecycleBinding, bind_lifecycle
from .main_thread import on_main_thread
from .network import NetworkBinding, track_network
from .screens import ScreenTracker, track_screens

__all__ = ["track_screens", "ScreenTracker", "bind_lifecycle", "LifecycleBinding",
           "device_context", "track_device_context", "DeviceContextBinding", "on_main_thread",
           "track_deep_links", "DeepLinkBinding", "StatsigFlags", "FeatureGate", "FeatureGateElse",
           "ExperimentSwitch", "Variant", "track_network", "NetworkBinding"]

# Kivy sets the root logger to NOTSET, so every DEBUG line of every library reaches its
# console: urllib3 writes one per request. Our dependencies' loggers stay at WARNING
# unless the app gave them a level of its own (then it asked for their lines).
for _name in ("urllib3", "requests", "charset_normalizer", "chardet"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.WARNING)
