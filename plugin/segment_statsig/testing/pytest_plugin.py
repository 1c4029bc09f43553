"""pytest plugin (entry point ``pytest11: segment_statsig``): the ``fake_statsig`` and
``fake_segment_cdn`` fixtures. Each is a fresh server per test, stopped afterwards; any
server-side problem (an unexpected request, a crashed hook) fails the test at teardown,
as pytest-httpserver's ``check_assertions()`` does."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import pytest

if TYPE_CHECKING:  # the servers load only when a test asks for one
    from .fake_segment_cdn import FakeSegmentCDN
    from .fake_statsig import FakeStatsig


@pytest.fixture
def fake_statsig() -> Iterator[FakeStatsig]:
    """A started :class:`~segment_statsig.testing.FakeStatsig` accepting any key."""
    from .fake_statsig import FakeStatsig

    server = FakeStatsig().start()
    try:
        yield server
    finally:
        server.stop()
    server.check_assertions()


@pytest.fixture
def fake_segment_cdn() -> Iterator[FakeSegmentCDN]:
    """A started :class:`~segment_statsig.testing.FakeSegmentCDN` with no settings yet
    (use ``set_settings(write_key, {...})``)."""
    from .fake_segment_cdn import FakeSegmentCDN

    server = FakeSegmentCDN().start()
    try:
        yield server
    finally:
        server.stop()
    server.check_assertions()
