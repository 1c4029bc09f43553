"""Kivy glue for segment_statsig: the only part of the package that imports Kivy.

    from segment_statsig.kivy import track_screens, bind_lifecycle, track_device_context

    class MyApp(App):
        def build(self):
            root = Builder.load_file("my.kv")
            bind_lifecycle(self, analytics)               # Opened / Backgrounded / Foregrounded, shutdown
            track_screens(root.ids.screens, analytics)    # screen("Home"), screen("Catalog"), ...
            track_device_context(analytics)               # context.screen, os, device
            track_deep_links(analytics)                   # Deep Link Opened, from Android intents
            return root

Each returns a handle whose ``unbind()`` undoes it.
"""
from __future__ import annotations

from .deep_links import DeepLinkBinding, track_deep_links
from .device import DeviceContextBinding, device_context, track_device_context
from .lifecycle import LifecycleBinding, bind_lifecycle
from .screens import ScreenTracker, track_screens

__all__ = ["track_screens", "ScreenTracker", "bind_lifecycle", "LifecycleBinding",
           "device_context", "track_device_context", "DeviceContextBinding", "track_deep_links", "DeepLinkBinding"]
