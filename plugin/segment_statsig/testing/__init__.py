"""Conformance harness: a fake Statsig, a fake Segment CDN, recordings, a pytest plugin.

Importing this package is cheap; the servers (and pytest-httpserver/werkzeug) load on
first use of ``FakeStatsig`` / ``FakeSegmentCDN``.
"""
from typing import Any

__all__ = ["FakeStatsig", "FakeSegmentCDN", "RecordedRequest"]

_LAZY = {
    "FakeStatsig": ".fake_statsig",
    "FakeSegmentCDN": ".fake_segment_cdn",
    "RecordedRequest": "._server",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
