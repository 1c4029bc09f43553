"""The command lines a newcomer types from the README: the harness CLI
(`python -m segment_statsig.testing ...`) and the local example (`examples/local_statsig.py`).

Every CLI error is one line that says what is wrong and what to do, with a non-zero
exit status; `verify` prints verdicts, not the log lines of the cases it replays."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "recordings"


def cli(*args, cwd=ROOT, timeout=120):
    return subprocess.run([sys.executable, "-m", "segment_statsig.testing", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=timeout)


def one_line_error(proc):
    """The process failed with exactly one line on stderr (no traceback); that line."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


# --- record -----------------------------------------------------------------------------

def test_record_on_a_missing_file_writes_a_template_and_says_what_to_fill_in(tmp_path):
    case = tmp_path / "NEW_CASE.json"
    line = one_line_error(cli("record", case))
    assert str(case) in line and "template" in line and "calls" in line and "again" in line
    template = json.loads(case.read_text(encoding="utf-8"))
    assert template["name"] == "NEW_CASE" and template["calls"] == []
    assert template["settings"] == {"integrations": {"Statsig": {"apiKey": "<API_KEY>"}}}
    assert any("record" in hint for hint in template["//"])  # the comment says how to go on

    # run again unchanged: nothing to record yet, and it says so (the template stays)
    line = one_line_error(cli("record", case))
    assert "no calls" in line and str(case) in line
    assert json.loads(case.read_text(encoding="utf-8")) == template

    # filled in: recorded, and the template's comment is gone
    template["calls"] = [{"method": "track", "args": {"event": "Login Button Clicked"}}, {"method": "flush"}]
    case.write_text(json.dumps(template), encoding="utf-8")
    proc = cli("record", case)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"recorded {case}: 1 requests, 1 events"
    recorded = json.loads(case.read_text(encoding="utf-8"))
    assert "//" not in recorded
    events = recorded["expected"]["requests"][0]["body"]["events"]
    assert [e["eventName"] for e in events] == ["segment_track:Login Button Clicked"]
    assert cli("verify", case).returncode == 0


def test_record_into_a_folder_that_does_not_exist_is_one_line(tmp_path):
    line = one_line_error(cli("record", tmp_path / "nowhere" / "CASE.json"))
    assert "nowhere" in line and "folder" in line


@pytest.mark.parametrize("text, says", [
    ('{"name": "x", "calls": [', "not valid JSON"),
    ('[1, 2]', "JSON object"),
    ('{"calls": []}', '"name"'),
    ('{"name": "x", "calls": {"method": "track"}}', '"calls"'),
    ('{"name": "x", "calls": [{"args": {}}]}', '"method"'),
])
def test_a_broken_case_file_is_one_line_naming_the_problem(tmp_path, text, says):
    case = tmp_path / "broken.json"
    case.write_text(text, encoding="utf-8")
    for command in ("record", "verify", "export-har"):
        line = one_line_error(cli(command, case))
        assert str(case) in line and says in line, (command, line)


# --- verify -----------------------------------------------------------------------------

def test_verify_on_a_path_that_does_not_exist(tmp_path):
    line = one_line_error(cli("verify", tmp_path / "missing.json"))
    assert "missing.json" in line and "no such file" in line


def test_verify_on_a_folder_without_cases(tmp_path):
    line = one_line_error(cli("verify", tmp_path))
    assert str(tmp_path) in line and "*.json" in line


def test_verify_on_a_case_never_recorded_says_run_record(tmp_path):
    case = tmp_path / "fresh.json"
    case.write_text(json.dumps({"name": "fresh", "calls": [{"method": "flush"}]}), encoding="utf-8")
    proc = cli("verify", case)
    assert proc.returncode == 1
    assert "run `record` first" in proc.stdout and "0 passed, 1 failed, 0 skipped" in proc.stdout


def test_an_adapter_that_cannot_load_is_one_line(tmp_path):
    for spec, says in (("nosuchmodule_xyz:run", "nosuchmodule_xyz"), ("no-colon", "module:function"),
                       ("json:nosuchfunction", "nosuchfunction")):
        line = one_line_error(cli("verify", "--adapter", spec, RECORDINGS / "track_renamed.json"))
        assert says in line and "--adapter" in line, line


def test_a_usage_error_is_one_line():
    for args in ((), ("verify",), ("frobnicate",), ("verify", "--timeout", "soon", "x.json")):
        line = one_line_error(cli(*args))
        assert "--help" in line, line


def test_verify_keeps_the_cases_log_lines_out_of_the_verdicts_unless_verbose(tmp_path):
    """drop_after_400 and event_name_limits make the plugin warn (as it must); those
    warnings belong to the case, not to the verdict."""
    for name in ("drop_after_400", "event_name_limits", "track_renamed"):
        shutil.copy(RECORDINGS / f"{name}.json", tmp_path)
    proc = cli("verify", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.splitlines() == ["ok   drop_after_400", "ok   event_name_limits", "ok   track_renamed",
                                        "3 passed, 0 failed, 0 skipped"]

    proc = cli("verify", "-v", tmp_path)
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0] == "ok   drop_after_400"
    assert re.match(r"     log: ERROR .*HTTP 400 is final", lines[1]), lines
    assert any("over 64 characters" in line for line in lines)
    assert lines[-1] == "3 passed, 0 failed, 0 skipped"


def test_a_failing_case_says_how_many_log_lines_it_made(tmp_path):
    text = (RECORDINGS / "drop_after_400.json").read_text(encoding="utf-8")
    head, sep, expected = text.partition('"expected"')
    case = tmp_path / "drop_after_400.json"
    case.write_text(head + sep + expected.replace('"status": 400', '"status": 401', 1), encoding="utf-8")
    proc = cli("verify", case)
    assert proc.returncode == 1
    out = proc.stdout.splitlines()
    assert out[0].startswith("FAIL drop_after_400")
    assert any(re.fullmatch(r"  \(\d+ log lines? from the case: -v shows them\)", line) for line in out), out
    assert out[-1] == "0 passed, 1 failed, 0 skipped"


# --- export-har -------------------------------------------------------------------------

def test_export_har_errors_are_one_line(tmp_path):
    line = one_line_error(cli("export-har", tmp_path / "nope.json"))
    assert "nope.json" in line and "no such file" in line
    fresh = tmp_path / "fresh.json"
    fresh.write_text(json.dumps({"name": "fresh", "calls": []}), encoding="utf-8")
    line = one_line_error(cli("export-har", fresh))
    assert "no expected requests" in line and "record" in line
    line = one_line_error(cli("export-har", RECORDINGS / "track_renamed.json", "-o", tmp_path / "no" / "x.har"))
    assert "x.har" in line


# --- the README ---------------------------------------------------------------------------

def readme_block(marker):
    """The fenced block right after the line holding `marker` in README.md."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = text[text.index(marker):]
    match = re.search(r"```(\w*)\n(.*?)```", after, re.S)
    return match.group(2)


def test_the_readme_shows_how_a_new_case_starts_and_it_is_what_record_writes(tmp_path):
    shown = json.loads(readme_block("A new case starts as"))
    one_line_error(cli("record", tmp_path / "NEW_CASE.json"))
    assert json.loads((tmp_path / "NEW_CASE.json").read_text(encoding="utf-8")) == shown


def test_the_readme_local_example_runs_as_written_and_prints_what_it_shows():
    """The README's command, run by a shell from the repository root with the package
    installed (`python` is this interpreter, as in an activated .venv)."""
    command = readme_block("Run it against a local Statsig stand-in").strip().splitlines()
    assert command[0] == "python examples/local_statsig.py"
    shown = readme_block("It prints").strip().splitlines()
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    proc = subprocess.run(command[0], shell=True, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    def port_free(lines):
        return [re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", line) for line in lines]

    assert port_free(proc.stdout.strip().splitlines()) == port_free(shown)
