"""Running the demo app for the app tests: a subprocess with its environment and watchdog, and the screenshots it saves.

Kivy's App runs once per process, so each run is a subprocess. Every run has two
watchdogs: the app's own (the tour stops the app and fails after N seconds) and the
subprocess timeout here, so a stuck main loop cannot hang CI.
"""
import collections
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WATCHDOG = 150  # seconds for a whole subprocess run


def app_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGMENT_STATSIG_DEMO")}
    env.update(SDL_VIDEODRIVER="offscreen", KIVY_NO_ARGS="1", KIVY_NO_FILELOG="1", KIVY_NO_CONFIG="1",
               KIVY_HOME=str(tmp_path / "kivy-home"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def run(args, env, timeout=WATCHDOG):
    try:
        proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"watchdog: {args} still running after {timeout}s\n{(e.stderr or '')[-3000:]}")
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return proc


def pixels(path):
    """(width, height, RGBA bytes) of a PNG, decoded by Kivy's SDL2 image loader (no window)."""
    from kivy.core.image import ImageLoader

    data = ImageLoader.load(str(path))._data[0]
    assert data.fmt == "rgba"
    return data.width, data.height, data.data


def assert_looks_like_a_screen(path, size):
    width, height, data = pixels(path)
    assert (width, height) == size, f"{path.name}: {width}x{height}, expected {size}"
    samples = collections.Counter(data[i:i + 3] for i in range(0, len(data), 4 * 53))
    most, count = samples.most_common(1)[0]
    assert len(samples) >= 40, f"{path.name}: only {len(samples)} colours: blank?"
    assert count / sum(samples.values()) < 0.8, f"{path.name}: {most!r} covers most of it: blank?"
    # The app bar (dark indigo) is at the top and the tab bar at the bottom, not garbage.
    top = data[(3 * width + 2) * 4:(3 * width + 2) * 4 + 3]
    bottom = data[((height - 3) * width + 2) * 4:((height - 3) * width + 2) * 4 + 3]
    assert top == bottom == bytes((41, 38, 92)), f"{path.name}: bars are {top!r} / {bottom!r}"


def pixel(path, x, y):
    """The RGB of window point (x, y) (origin bottom left, as Kivy's) in a screenshot."""
    width, height, data = pixels(path)
    i = ((height - 1 - y) * width + x) * 4
    return tuple(data[i:i + 3])
