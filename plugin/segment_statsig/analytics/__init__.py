"""The event pipeline: the public client, Segment Spec events, plugins and their timeline, the
timeline worker, context, identity and settings."""
from __future__ import annotations
