"""Shared helpers: a client wired to the loopback fake Statsig."""
import logging

import pytest

from segment_statsig import Analytics, StatsigDestination

KEY = "client-test-key-0123456789"


@pytest.fixture
def make_client(tmp_path, fake_statsig):
    """make_client(**analytics_options) -> (analytics, statsig destination); shut down after the test."""
    made = []

    def make(storage_dir=None, dest_options=None, **options):
        options.setdefault("settings", {"integrations": {"Statsig": {"apiKey": KEY}}})
        options.setdefault("flush_interval", 0.05)
        analytics = Analytics(storage_dir=storage_dir or tmp_path / "store", **options)
        dest_options = {"api_url": fake_statsig.url, "retry_base": 0.02, "retry_max": 0.2, **(dest_options or {})}
        destination = analytics.add(StatsigDestination(**dest_options))
        made.append(analytics)
        return analytics, destination

    yield make
    for analytics in made:
        analytics.shutdown(timeout=2)


@pytest.fixture
def log_records(caplog):
    caplog.set_level(logging.DEBUG, logger="segment_statsig")
    return caplog


# --- reliability tests: long variants ------------------------------------------
def pytest_addoption(parser):
    parser.addoption("--long", action="store_true", default=False,
                     help="long reliability variants: more kill points, longer outages, 8 x 10,000 events "
                          "(also SEGMENT_STATSIG_LONG=1)")


@pytest.fixture
def long_run(request):
    """True for the long variants (--long or SEGMENT_STATSIG_LONG=1)."""
    import os

    return bool(request.config.getoption("--long") or os.environ.get("SEGMENT_STATSIG_LONG"))
