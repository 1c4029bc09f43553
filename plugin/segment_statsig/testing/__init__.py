"""Conformance harness: a fake Statsig, a fake Segment CDN, recordings, a pytest plugin.

Importing this package is cheap; the servers (and pytest-httpserver/werkzeug) load on
first use of ``FakeStatsig`` / ``FakeSegmentCDN``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # type checkers read the names below; at run time they load on first use
    from ._server import RecordedRequest as RecordedRequest
    from .fake_segment_cdn import FakeSegmentCDN as FakeSegmentCDN
    from .fake_statsig import FakeStatsig as FakeStatsig

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
