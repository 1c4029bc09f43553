"""docs/DEMO.md's "Using the Kivy glue in your own app", followed from scratch: its main.py
and buildozer.spec lines written into an empty folder, the package copied in as it says,
buildozer's own parser and copy step making the APK's files, and the app run from those
files, offscreen, against a loopback Statsig: what arrives, and how long on_stop holds
the UI thread while Statsig is down."""
import json
import re
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from segment_statsig.testing import FakeStatsig

from .app_runs import ROOT, app_env, run

KEY = "client-own-app-test"
DEMO_MD = ROOT / "docs" / "DEMO.md"
STOP_BOUND = 0.25  # bind_lifecycle's documented default

# The app's user, as Kivy would drive it: a screen change, the Log in button, a pause and a
# resume (through Kivy's events, as the doc says), then App.stop(), timed on the UI thread.
DRIVER = textwrap.dedent("""
    import json, os, sys, threading, time
    sys.modules["charset_normalizer"] = None  # not in the documented requirements: must not be needed
    sys.modules["chardet"] = None
    threading.Timer(60, lambda: os._exit(3)).start()  # watchdog: a stuck main loop fails the run
    from kivy.clock import Clock
    import main, segment_statsig

    out = {"package": segment_statsig.__file__}
    app = main.MyApp()

    def steps(_dt):
        app.root.current = "Catalog"
        button = app.root.get_screen("Catalog").children[0]
        button.dispatch("on_release")
        out["button"] = button.text
        app.dispatch("on_pause")
        app.dispatch("on_resume")
        started = time.perf_counter()
        app.stop()
        out["stop_seconds"] = time.perf_counter() - started
        with open(sys.argv[1], "w") as f:
            json.dump(out, f)

    Clock.schedule_once(steps, 0.5)
    app.run()
    os._exit(0)  # the watchdog timer is not a daemon: leave now
""")


def section(text, heading):
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start:end if end != -1 else None]


def block(text, lang):
    found = re.search(rf"```{lang}\n(.*?)```", text, re.S)
    assert found, f"no ```{lang} block"
    return found.group(1)


@pytest.fixture(scope="module")
def documented():
    """(main.py, the spec lines, the copy command) as DEMO.md gives them."""
    own = section(DEMO_MD.read_text(), "## Using the Kivy glue in your own app")
    apk = own[own.index("### Your own APK"):]
    return block(own, "python"), block(apk, "ini"), block(apk, "sh")


def make_app(tmp_path, documented, statsig_url):
    """The app folder as a developer makes it from the doc, and the APK's files from it."""
    main_py, spec_lines, commands = documented
    assert main_py.count('"client-..."') == 1 and main_py.count("StatsigDestination()") == 1
    main_py = main_py.replace('"client-..."', repr(KEY)).replace(
        "StatsigDestination()", f"StatsigDestination(api_url={statsig_url!r})")  # the stand-in, not Statsig
    app_dir = tmp_path / "myapp"
    app_dir.mkdir()
    (app_dir / "main.py").write_text(main_py)
    # `cp -r path/to/segment-statsig/plugin/segment_statsig myapp/`, as the doc says
    assert "cp -r path/to/segment-statsig/plugin/segment_statsig myapp/" in commands
    shutil.copytree(ROOT / "plugin" / "segment_statsig", app_dir / "segment_statsig",
                    ignore=shutil.ignore_patterns("__pycache__"))
    # what `buildozer init` writes for [app], then the doc's lines
    (app_dir / "buildozer.spec").write_text(
        "[app]\ntitle = My App\npackage.name = myapp\npackage.domain = org.test\nsource.dir = .\n"
        "source.include_exts = py,png,jpg,kv,atlas\nversion = 0.1\norientation = portrait\n"
        + spec_lines + "\n[buildozer]\nlog_level = 2\nwarn_on_root = 1\n")
    return app_dir


def apk_files(app_dir, tmp_path, monkeypatch):
    """buildozer's own parser (its checks exit on a bad spec) and source-copy step."""
    import buildozer

    monkeypatch.chdir(app_dir)
    parsed = buildozer.Buildozer(str(app_dir / "buildozer.spec"))
    out = tmp_path / "apk"
    monkeypatch.setattr(type(parsed), "app_dir", property(lambda self: str(out)))
    parsed._copy_application_sources()
    return parsed.config, out


def run_app(apk, tmp_path, name):
    (apk / "drive.py").write_text(DRIVER)
    (tmp_path / "config").mkdir(exist_ok=True)  # Kivy's user_data_dir goes in it: the same for each run
    env = app_env(tmp_path)
    env.pop("PYTHONPATH")  # segment_statsig from the APK's files, nothing else of this checkout
    result = tmp_path / f"{name}.json"
    proc = run([str(apk / "drive.py"), str(result)], env, timeout=90)
    out = json.loads(result.read_text())
    assert out["package"].startswith(str(apk)), out["package"]
    return out, proc


def test_the_spec_lines_and_the_apks_files(documented, tmp_path, monkeypatch):
    app_dir = make_app(tmp_path, documented, "http://127.0.0.1:9/v1")
    config, apk = apk_files(app_dir, tmp_path, monkeypatch)
    requirements = config.getlist("app", "requirements", [])
    assert requirements == ["python3", "kivy==2.3.1", "requests", "urllib3", "idna", "certifi"]
    assert set(config.getlist("app", "android.permissions", [])) == {"INTERNET", "ACCESS_NETWORK_STATE"}
    assert int(config.getdefault("app", "android.api", "0")) >= 35
    assert config.getdefault("app", "android.allow_backup", "") == "False"
    assert re.fullmatch(r"v\d{4}\.\d\d\.\d\d", config.getdefault("app", "p4a.branch", ""))
    package = {str(p.relative_to(ROOT / "plugin")) for p in (ROOT / "plugin" / "segment_statsig").rglob("*.py")}
    carried = {str(p.relative_to(apk)) for p in apk.rglob("*.py")}
    assert package <= carried and "main.py" in carried


def test_the_documented_app_reaches_statsig(documented, tmp_path, monkeypatch):
    with FakeStatsig(api_keys={KEY}) as statsig:
        statsig.set_gate("new_checkout", lambda user: user.get("userID") == "user-42")
        _, apk = apk_files(make_app(tmp_path, documented, statsig.url), tmp_path, monkeypatch)
        first, proc = run_app(apk, tmp_path, "first")
        assert "Starting new HTTP" not in proc.stderr  # no DEBUG line of urllib3's under Kivy's root logger
        assert statsig.wait_for_events(7, timeout=5)  # on_pause flushed these
        first_users = [r.body["user"].get("userID") for r in statsig.initialize_requests]
        run_app(apk, tmp_path, "second")  # a restart: what on_stop left goes now
        assert statsig.wait_for_events(15, timeout=5)
        events, initialize = statsig.events, statsig.initialize_requests
    names = [e["eventName"] for e in events]
    run1 = ["segment_track:Application Installed", "segment_track:Application Opened", "segment_screen:Home",
            "segment_screen:Catalog", "segment_track:Login Button Clicked", "statsig::gate_exposure",
            "segment_track:Application Backgrounded", "segment_track:Application Opened"]
    run2 = ["segment_track:Application Opened", "segment_screen:Home", "segment_screen:Catalog",
            "segment_track:Login Button Clicked", "statsig::gate_exposure", "segment_track:Application Backgrounded",
            "segment_track:Application Opened"]  # the return from the background: from_background true
    assert sorted(names) == sorted(run1 + run2), names  # each once: nothing lost, nothing twice
    assert names[:7] == run1[:7]
    login = events[names.index("segment_track:Login Button Clicked")]
    assert login["user"]["userID"] == "user-42" and login["user"]["email"] == "ada@example.com"
    assert login["user"]["appVersion"] == "1.4.0" and login["metadata"] == {"method": "email"}
    assert first["button"] == "Checkout"  # checked before user-42's values came: the default
    # one initialize per user: the anonymous one at start, user-42's at the check after the
    # identify (none again when on_pause's batch processes the identify); the restart's
    # prefetch for user-42, whose identify there changes nothing
    assert first_users == [None, "user-42"]
    assert [r.body["user"].get("userID") for r in initialize] == [None, "user-42", "user-42"]


def test_on_stop_with_statsig_down_does_not_hold_the_ui(documented, tmp_path, monkeypatch):
    """Statsig answers 503: on_stop returns within its bound (before: 4.5 s of a frozen UI),
    and what it could not send goes out, once, at the next start."""
    with FakeStatsig(api_keys={KEY}) as statsig:
        _, apk = apk_files(make_app(tmp_path, documented, statsig.url), tmp_path, monkeypatch)
        statsig.set_offline(True)
        first, _ = run_app(apk, tmp_path, "offline")
        assert statsig.events == []
        statsig.set_offline(False)
        run_app(apk, tmp_path, "online")
        assert statsig.wait_for_events(15, timeout=5)
        names = [e["eventName"] for e in statsig.events]
    print(f"on_stop with Statsig down: {first['stop_seconds']:.3f} s")
    assert first["stop_seconds"] < STOP_BOUND + 0.5, first  # the bound, plus Kivy's own stop on a busy machine
    assert names.count("segment_track:Login Button Clicked") == 2 and names.count("statsig::gate_exposure") == 2
    assert names.count("segment_track:Application Opened") == 4 and len(names) == 15, names
