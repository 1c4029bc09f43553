"""Running destination-filter cases through tsub (one node process) and through our engine,
in the same answer shape, for tests/test_filters*.py."""
from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
from typing import Any, Dict, List

import pytest

from segment_statsig.filters import FilterError, apply_rules, matches, transform
from segment_statsig.filters.jsjson import stringify

NODE_DIR = pathlib.Path(__file__).parent / "node"
ORACLE = NODE_DIR / "tsub_oracle.js"
TSUB = NODE_DIR / "node_modules" / "@segment" / "tsub" / "package.json"


def run_tsub(lines: List[str]) -> List[Dict[str, Any]]:
    """tsub's answer to each case, from one node process."""
    node = shutil.which("node")
    if node is None or not TSUB.exists():
        pytest.fail("node or @segment/tsub is missing (tests/node/node_modules): run ./dev test, "
                    "which installs them", pytrace=False)
    version = json.loads(TSUB.read_text())["version"]
    assert version == "2.0.1", f"tests/node/node_modules has @segment/tsub {version}, not 2.0.1: run ./dev test"
    done = subprocess.run([node, str(ORACLE)], input="\n".join(lines) + "\n", capture_output=True,
                          text=True, encoding="utf-8", cwd=NODE_DIR, timeout=300)
    assert done.returncode == 0, f"the tsub oracle failed ({done.returncode}): {done.stderr[-2000:]}"
    answers = [json.loads(line) for line in done.stdout.split("\n") if line]  # not splitlines: U+2028
    assert len(answers) == len(lines), f"tsub answered {len(answers)} of {len(lines)} cases"
    return answers


def run_ours(case: Dict[str, Any]) -> Dict[str, Any]:
    """Our answer, in the oracle's shape; draws counted as tsub's Math.random calls are."""
    draws: List[float] = case.get("random") or []
    used = 0

    def draw() -> float:
        nonlocal used
        if used >= len(draws):
            raise FilterError("the case ran out of random draws")
        used += 1
        return draws[used - 1]

    kind = case["kind"]
    try:
        if kind == "match":
            return {"ok": matches(case["event"], case["matcher"])}
        if kind == "transform":
            result = transform(case["event"], case["transformers"], random=draw)
        else:
            result = apply_rules(case["event"], case["rules"], case["destination"], random=draw)
        return {"ok": None if result is None else stringify(result), "draws": used}
    except FilterError as error:
        reply: Dict[str, Any] = {"error": str(error)}
        if kind != "match":
            reply["draws"] = used
        return reply
    except Exception as error:  # not how tsub fails: always a difference
        return {"crash": f"{type(error).__name__}: {error}"}


def same(theirs: Dict[str, Any], ours: Dict[str, Any]) -> bool:
    """Equal answers: the same result (JSON text for events), or both an error; same draws."""
    if "crash" in ours or ("error" in theirs) != ("error" in ours):
        return False
    if theirs.get("draws") != ours.get("draws"):
        return False
    return "error" in theirs or theirs["ok"] == ours["ok"]


