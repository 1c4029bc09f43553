"""Running config specs and users through Statsig's own evaluators, each in one process:
the JS on-device client (tests/node/on_device_oracle.js) and the Python server SDK
(tests/statsig_python_oracle.py); both answer with the initialize reply of each user."""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).parent
NODE_DIR = HERE / "node"
JS_CLIENT = NODE_DIR / "node_modules" / "@statsig" / "js-on-device-eval-client" / "package.json"
JS_VERSION = "3.33.5"


def run_js(specs_text, users, hash_used="none"):
    node = shutil.which("node")
    if node is None or not JS_CLIENT.exists():
        pytest.fail("node or @statsig/js-on-device-eval-client is missing (tests/node/node_modules): run ./dev test, "
                    "which installs them", pytrace=False)
    version = json.loads(JS_CLIENT.read_text())["version"]
    assert version == JS_VERSION, f"tests/node/node_modules has js-on-device-eval-client {version}, not {JS_VERSION}"
    return _run([node, str(NODE_DIR / "on_device_oracle.js")], specs_text, users, hash_used, cwd=NODE_DIR)


def run_python_sdk(specs_text, users):
    # TZ=UTC: the SDK reads the `on` operator's day in local time; JS (and we) in UTC
    return _run([sys.executable, str(HERE / "statsig_python_oracle.py")], specs_text, users, "none",
                env={**os.environ, "TZ": "UTC"})


def _run(command, specs_text, users, hash_used, **options):
    job = json.dumps({"specs": specs_text, "users": users, "hash": hash_used})
    done = subprocess.run(command, input=job, capture_output=True, text=True, encoding="utf-8", timeout=300, **options)
    assert done.returncode == 0, f"{command[-1]} failed ({done.returncode}): {done.stderr[-2000:]}"
    replies = json.loads(done.stdout)
    assert len(replies) == len(users)
    return replies
