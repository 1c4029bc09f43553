"""The stages of the timeline and the kinds of settings update, after analytics-kotlin's
Plugin.Type and UpdateType (apart from plugin.py so the timeline needs no plugin class)."""
from __future__ import annotations

import enum


class PluginType(str, enum.Enum):
    BEFORE = "before"            # runs first: can change or drop any event
    ENRICHMENT = "enrichment"    # adds data (context, ids)
    DESTINATION = "destination"  # sends events somewhere; each gets its own copy
    AFTER = "after"              # sees what destinations were given
    UTILITY = "utility"          # not in the event path (lifecycle, helpers)


class UpdateType(str, enum.Enum):
    INITIAL = "initial"  # first settings this plugin sees
    REFRESH = "refresh"  # settings changed later
