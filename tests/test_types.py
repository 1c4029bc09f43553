"""The package's annotations: clean under `mypy --strict` ([tool.mypy] in pyproject.toml),
so that an app's type checker learns the public API from them (py.typed ships), and free
at run time (typing names are imported under TYPE_CHECKING only)."""
import json
import logging
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_is_clean_under_mypy_strict():
    # The cache is the project's .mypy_cache (gitignored): a second run takes a fraction of a second.
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and "Success" in result.stdout, result.stdout + result.stderr


def test_the_start_path_does_not_load_typing():
    """Importing what an app starts with loads no typing: the annotations cost nothing."""
    code = ("import sys\n"
            "from segment_statsig import Analytics, StatsigDestination, SegmentDestination, DeliveryStats\n"
            "print('typing' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_read_json_gives_an_object_or_none_as_annotated(tmp_path, caplog):
    """A file of the storage folder holding JSON that is not an object is ignored like an
    unreadable one (the Analytics constructor raised AttributeError on `[1]` in user.json)."""
    from segment_statsig import Analytics
    from segment_statsig.storage.files import APP, PRIVACY, USER, read_json

    for name in (USER, APP, PRIVACY):
        (tmp_path / name).write_text("[1]", encoding="utf-8")
    caplog.set_level(logging.WARNING, logger="segment_statsig")
    assert read_json(str(tmp_path), USER) is None
    analytics = Analytics(storage_dir=tmp_path, track_lifecycle_events=True)
    try:
        assert analytics.enabled and analytics.anonymous_id
    finally:
        analytics.shutdown(timeout=2)
    assert "user.json: a JSON list, not an object" in caplog.text
    assert isinstance(json.loads((tmp_path / USER).read_text(encoding="utf-8")), dict)  # written afresh


def test_a_destinations_own_plugins_are_set_up_with_the_analytics_as_annotated(tmp_path):
    """Plugin.setup takes an Analytics: a plugin added to a destination before that
    destination was added is set up once it is (it was set up with None, for good)."""
    from segment_statsig import Analytics, Plugin, PluginType, StatsigDestination

    class Stamp(Plugin):
        type = PluginType.ENRICHMENT
        set_up_with = []

        def setup(self, analytics):
            super().setup(analytics)
            self.set_up_with.append(analytics)

    destination = StatsigDestination(api_key="client-test-key", api_url="http://127.0.0.1:9")
    early = destination.add(Stamp())
    analytics = Analytics(storage_dir=tmp_path)
    try:
        analytics.add(destination)
        late = destination.add(Stamp())
        assert early.analytics is analytics and late.analytics is analytics
        assert Stamp.set_up_with == [analytics, analytics]  # each once
    finally:
        analytics.shutdown(timeout=2)
