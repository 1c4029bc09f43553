"""The harness as a library: usable without pytest, cheap to import, stopped by its with block,
and its pytest fixtures report server-side failures at teardown."""
import subprocess
import sys

import pytest

from segment_statsig.testing import FakeStatsig


# -- usable without pytest --------------------------------------------------------------------

def python_prints(code):
    """What `python -c code` printed, in a fresh process; it must succeed."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout

def test_usable_without_pytest_in_a_plain_process():
    code = (
        "import sys, json, urllib.request\n"
        "from segment_statsig.testing import FakeStatsig\n"
        "assert 'pytest' not in sys.modules\n"
        "f = FakeStatsig(api_keys={'client-k'}).start()\n"
        "req = urllib.request.Request(f.url + '/log_event', data=b'{\"events\":[{\"eventName\":\"x\"}]}',"
        " headers={'STATSIG-API-KEY': 'client-k'}, method='POST')\n"
        "print(urllib.request.urlopen(req, timeout=5).status, len(f.events))\n"
        "f.stop(); f.stop()\n"
    )
    assert python_prints(code).split() == ["202", "1"]


def test_testing_package_is_cheap_and_not_imported_by_core():
    code = (
        "import sys\n"
        "import segment_statsig.testing\n"
        "heavy = [m for m in ('werkzeug', 'pytest_httpserver', 'requests') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    assert python_prints(code).strip() == "[]"
    core = "import sys, segment_statsig; print('segment_statsig.testing' in sys.modules)"
    assert python_prints(core).strip() == "False"


def test_context_manager_stops_and_url_requires_start():
    fake = FakeStatsig()
    with pytest.raises(RuntimeError, match="start"):
        fake.url
    with fake:
        assert fake.is_running
    assert not fake.is_running


def test_fixture_teardown_surfaces_server_side_failures(tmp_path):
    (tmp_path / "test_inner.py").write_text(
        "import requests\n"
        "def test_hits_wrong_path(fake_statsig):\n"
        "    requests.get(fake_statsig.url + '/nope', timeout=5)\n"
        "def test_fine(fake_statsig, fake_segment_cdn):\n"
        "    assert fake_statsig.url != fake_segment_cdn.url\n"
    )
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-o", "addopts=", str(tmp_path)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert "2 passed, 1 error" in out.stdout  # test passed, its teardown errored, out.stdout + out.stderr
    assert "unexpected GET /v1/nope" in out.stdout
