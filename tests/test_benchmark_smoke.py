"""Smoke run of the side-by-side benchmark: it must keep running and print every row.

No timing assertions here: the figures are measured by `python -m tests.benchmarks`
(see README), not asserted by the test suite.
"""
import os
import subprocess
import sys

import pytest

from tests.benchmarks.table import LIB_TITLES, ROWS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.timeout(240)
def test_benchmark_quick_prints_every_row(tmp_path):
    out_json = tmp_path / "bench.json"
    p = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks", "--quick", "--json", str(out_json)],
        cwd=REPO, capture_output=True, text=True, timeout=220,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    table = [line for line in p.stdout.splitlines() if line.startswith("| ")]
    header = table[0]
    for title in LIB_TITLES.values():
        assert title in header
    assert "ours ÷ segment" in header
    assert "ours ÷ best peer" in header
    bodies = {line.split(" | ")[0][2:]: line for line in table[1:]}
    for _key, title in ROWS:
        assert title in bodies, f"row missing: {title}\n{p.stdout}"
        cells = [c.strip() for c in bodies[title].strip("|").split("|")]
        assert len(cells) == len(LIB_TITLES) + 5, bodies[title]
        assert "error" not in cells, f"{bodies[title]}\n{p.stderr[-3000:]}"
    assert out_json.exists()
    # The phone session, time-compressed: every library's row, no error cell.
    session = p.stdout.split("## A phone session: the radio", 1)[1]
    for title in ("ours (both legs)", "ours, on-device evaluation (both legs)", "Statsig JS client (node)",
                  "statsig (Python)", "segment-analytics-python"):
        assert title in session
    for row in ("radio wake-ups", "radio high-power seconds", "radio joules", "p95 delivery latency",
                "CPU per event"):
        line = next(l for l in session.splitlines() if l.startswith(f"| {row}"))
        assert "error" not in line and "missing" not in line, line
    assert "| events undelivered at the end | 0 | 0 | 0 | 0 | 0 |" in session
