"""demo_app/buildozer.spec: parsed and checked by buildozer itself, and the files it
would put in the APK. (Building an APK needs the Android SDK/NDK: not here.)"""
import configparser
import os
import re
from pathlib import Path

import pytest

try:
    import buildozer
except ImportError:  # not in the test extras: parse as buildozer does (a ConfigParser)
    buildozer = None

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo_app"
SPEC = DEMO / "buildozer.spec"


class _Config(configparser.ConfigParser):
    """buildozer's SpecParser, the parts used here: case-kept keys, comma lists."""

    def __init__(self):
        super().__init__(allow_no_value=True)
        self.optionxform = str

    def getdefault(self, section, token, default=None):
        return self.get(section, token, fallback=default)

    def getlist(self, section, token, default=None):
        value = self.get(section, token, fallback=None)
        return default if value is None else [v.strip() for v in value.split(",") if v.strip()]


@pytest.fixture
def parsed(monkeypatch):
    monkeypatch.chdir(DEMO)  # buildozer runs from the spec's folder; source.dir is relative to it
    if buildozer is not None:
        return buildozer.Buildozer(str(SPEC))  # runs check_configuration_tokens: exits on an invalid spec
    config = _Config()
    config.read(SPEC, encoding="utf-8")
    return type("Parsed", (), {"config": config})()


def test_spec_passes_buildozers_own_checks(parsed):
    get = parsed.config.getdefault
    assert get("app", "title", "") and get("app", "package.name", "") == "segmentstatsigdemo"
    assert get("app", "version", "") == "1.0.0"
    assert parsed.config.getlist("app", "orientation", []) == ["portrait"]


def documented_apk_lines():
    """The spec lines docs/DEMO.md gives an app of one's own ("Your own APK")."""
    text = (ROOT / "docs" / "DEMO.md").read_text()
    block = text[text.index("### Your own APK"):].split("```ini\n", 1)[1].split("```", 1)[0]
    return dict(line.split(" = ", 1) for line in block.strip().splitlines())


def test_spec_requirements_and_permissions(parsed):
    requirements = parsed.config.getlist("app", "requirements", [])
    library = documented_apk_lines()["requirements"].split(",")
    assert library == ["python3", "kivy==2.3.1", "requests", "urllib3", "idna", "certifi"]
    # the library's, then the stand-in's own, and nothing else
    assert requirements == library + ["werkzeug", "markupsafe", "pytest-httpserver"]
    # compiled wheels reported broken under python-for-android; requests uses chardet (Kivy's recipe)
    assert "charset-normalizer" not in requirements
    assert set(parsed.config.getlist("app", "android.permissions", [])) == {"INTERNET", "ACCESS_NETWORK_STATE"}
    assert "the rest are pure Python" not in SPEC.read_text()  # markupsafe has a C extension


def test_spec_targets_what_google_play_requires_and_pins_python_for_android(parsed):
    get = parsed.config.getdefault
    assert int(get("app", "android.api", "0")) >= 35  # Google Play, new apps and updates since August 2025
    assert get("app", "android.allow_backup", "") == "False"  # Auto Backup would copy the anonymous ID
    branch = get("app", "p4a.branch", "")
    assert re.fullmatch(r"v\d{4}\.\d\d\.\d\d", branch), f"p4a.branch {branch!r}: not a release tag"
    assert branch == documented_apk_lines()["p4a.branch"]


def test_the_apk_would_carry_the_app_and_the_package(parsed, tmp_path, monkeypatch):
    """buildozer's own copy step, into a scratch folder: main.py at the root (python-for-android
    runs it), the kv layout, and segment_statsig from this checkout (through the symlink)."""
    link = DEMO / "segment_statsig"
    assert link.resolve() == (ROOT / "plugin" / "segment_statsig").resolve()
    if buildozer is not None:
        app_dir = tmp_path / "app"
        monkeypatch.setattr(type(parsed), "app_dir", property(lambda self: str(app_dir)))
        parsed._copy_application_sources()
        files = {str(p.relative_to(app_dir)) for p in app_dir.rglob("*") if p.is_file()}
    else:  # the walk buildozer's copy step makes (it follows symlinks), with its filters
        exts = set(parsed.config.getlist("app", "source.include_exts", []))
        files = {os.path.relpath(os.path.join(root, f), DEMO)
                 for root, _, names in os.walk(DEMO, followlinks=True) for f in names
                 if f.rpartition(".")[2] in exts and f != "buildozer.spec"}
    kv = sorted(str(p.relative_to(DEMO)) for p in (DEMO / "kv").glob("*.kv"))
    assert len(kv) >= 7
    for needed in ("main.py", "__init__.py", "__main__.py", "app.py", "screens.py", "widgets.py", "theme.py",
                   "display.py", "tour.py", "tourkit.py", "demo.kv", *kv,
                   "segment_statsig/__init__.py", "segment_statsig/kivy/screens.py",
                   "segment_statsig/statsig/destination.py", "segment_statsig/testing/fake_statsig.py"):
        assert needed in files, f"{needed} missing from the APK's files"
    assert "buildozer.spec" not in files
    assert not any(f.endswith(".pyc") for f in files)


def test_main_py_loads_the_app_folder_as_the_demo_app_package(tmp_path):
    """On a phone the app folder is not named demo_app: main.py must import it anyway."""
    import subprocess
    import sys

    code = ("import runpy, sys; sys.argv = ['main.py']; "
            "g = runpy.run_path('main.py', run_name='not_main'); g['_load_package'](); "
            "import demo_app.catalog, demo_app.backend; print(demo_app.catalog.PRODUCTS[0]['product_id'])")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=DEMO, capture_output=True, text=True, timeout=60,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "sku-1001"
