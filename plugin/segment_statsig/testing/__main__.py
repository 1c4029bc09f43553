"""python -m segment_statsig.testing record CASE.json | verify PATH... | export-har CASE.json

  record CASE.json...      run each case against the implementation, write its expected requests
                           (a file that does not exist yet gets a template to fill in)
  verify PATH...           replay cases (files or directories of *.json); a diff per mismatch, a
                           skip per capability the adapter lacks; exit status 1 when any case
                           fails; -v shows each case's log lines; --junit-xml FILE, --json
  export-har CASE.json     the case's expected requests as HAR 1.2 (stdout, or -o FILE)

--adapter: 'ours' (default), 'module:function' (a Python callable taking a Session), or
'cmd:<command line>' (a subprocess reading the calls as JSON lines). See docs/CONFORMANCE.md.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, NoReturn, Optional

from . import adapters
from .capabilities import ALL, unknown
from .har import to_har
from .recording import SecretLeak, dumps_case
from .reports import Verdict, json_report, junit_xml, summary
from .runner import compare, run_case

PROG = "python -m segment_statsig.testing"

#: what `record` writes where a case does not exist yet (the "//" comment goes once it is recorded)
TEMPLATE_COMMENT = [
    "A conformance case. Fill in \"calls\" (and \"settings\" if the case needs others), then run",
    "  python -m segment_statsig.testing record THIS_FILE",
    "which adds the Statsig requests the calls must make as \"expected\". A call is",
    "  {\"method\": \"track\", \"args\": {\"event\": \"Login Button Clicked\", \"properties\": {\"method\": \"email\"}}}",
    "and {\"method\": \"flush\"} delivers what was sent so far. Every method and option: docs/CONFORMANCE.md.",
]


class CliError(Exception):
    """One line for the user: what is wrong and what to do."""


def template(path: Path) -> Dict[str, Any]:
    return {"//": TEMPLATE_COMMENT, "name": path.stem,
            "description": "What this case checks, in one sentence.",
            "settings": {"integrations": {"Statsig": {"apiKey": "<API_KEY>"}}},
            "calls": []}


def read_case(path: Path) -> Dict[str, Any]:
    """A case file, or a CliError naming what is wrong with it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"{path}: no such file; check the path (or `record {path}` writes a template)") from None
    except IsADirectoryError:
        raise CliError(f"{path} is a folder; give a case file (*.json)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise CliError(f"{path}: cannot read it ({e})") from None
    try:
        case = json.loads(text)
    except ValueError as e:
        raise CliError(f"{path}: not valid JSON ({e}); fix the file and run again") from None
    if not isinstance(case, dict):
        raise CliError(f"{path}: a case is a JSON object with \"name\" and \"calls\", not a {type(case).__name__}")
    for key in ("name", "calls"):
        if key not in case:
            raise CliError(f"{path}: a case needs \"{key}\"; see docs/CONFORMANCE.md, \"Adding a case\"")
    calls = case["calls"]
    if not isinstance(calls, list):
        raise CliError(f"{path}: \"calls\" must be a list of {{\"method\", \"args\"}} objects")
    for i, call in enumerate(calls):
        if not isinstance(call, dict) or not isinstance(call.get("method"), str):
            raise CliError(f"{path}: calls[{i}] needs a \"method\", e.g. {{\"method\": \"track\", \"args\": {{...}}}}")
    requires = case.get("requires", [])
    wrong = unknown(requires) if isinstance(requires, list) else [repr(requires)]
    if wrong:
        raise CliError(f"{path}: \"requires\" is a list of capabilities ({', '.join(sorted(ALL))}); "
                       f"{', '.join(wrong)} is not one")
    if case.get("batches", "any") not in ("any", "exact"):
        raise CliError(f"{path}: \"batches\" is \"exact\" (the case is about batching) or \"any\"")
    return case


def case_files(paths: List[str]) -> List[Path]:
    out: List[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.glob("*.json"))
            if not found:
                raise CliError(f"{p}: no cases (*.json) in this folder; give a case file or a folder of them")
            out += found
        elif p.exists():
            out.append(p)
        else:
            raise CliError(f"{p}: no such file or folder; check the path")
    return out


def load_adapter(spec: str) -> adapters.Adapter:
    try:
        return adapters.load(spec)
    except adapters.AdapterError as e:
        raise CliError(f"--adapter: {e}") from None
    except ImportError as e:
        raise CliError(f"--adapter {spec!r}: cannot import it ({e}); is the module on PYTHONPATH?") from None


class CaseLog(logging.Handler):
    """Keeps what the implementation logs while a case runs: expected warnings (an HTTP 400
    the case injects, a name the case makes too long) belong to the case, not the verdict."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(f"{record.levelname} {record.getMessage()}")
        except Exception:  # a record that cannot format itself must not break the run
            self.lines.append(f"{record.levelname} {record.msg!r}")


@contextlib.contextmanager
def captured_logs() -> Iterator[CaseLog]:
    handler = CaseLog()
    logger = logging.getLogger("segment_statsig")
    saved = logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate = False
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate, level = saved
        logger.setLevel(level)


def show_logs(handler: CaseLog, verbose: bool, failed: bool) -> None:
    if verbose:
        for line in handler.lines:
            print(f"     log: {line}")
    elif failed and handler.lines:
        n = len(handler.lines)
        print(f"  ({n} log line{'s' if n != 1 else ''} from the case: -v shows them)")


def cmd_record(args: argparse.Namespace) -> int:
    adapter = load_adapter(args.adapter)
    status = 0
    for path in map(Path, args.cases):
        if path.is_dir():
            raise CliError(f"{path} is a folder; record takes case files (*.json)")
        if not path.exists():
            if not path.parent.is_dir():
                raise CliError(f"{path}: the folder {path.parent} does not exist; create it or pick another path")
            path.write_text(dumps_case(template(path)), encoding="utf-8")
            raise CliError(f"{path} did not exist: wrote a template there; fill in \"calls\" and run "
                           f"`record {path}` again")
        case = read_case(path)
        if not case["calls"]:
            raise CliError(f"{path} has no calls yet: fill in \"calls\" (see the \"//\" comment in it) and run again")
        with captured_logs() as logs:
            result = run_case(case, adapter, timeout=args.timeout)
        if result.skipped:
            print(f"NOT RECORDED {path}: the adapter lacks {', '.join(result.skipped)}, which the case requires",
                  file=sys.stderr)
            status = 1
            continue
        if result.errors:
            print(f"NOT RECORDED {path}:", *result.errors, sep="\n  ", file=sys.stderr)
            show_logs(logs, args.verbose, failed=True)
            status = 1
            continue
        case.pop("//", None)  # the template's how-to; a recorded case is documented by its description
        case["expected"] = result.expected_block()
        try:
            text = dumps_case(case)
        except SecretLeak as e:
            print(f"NOT RECORDED {path}: {e}", file=sys.stderr)
            status = 1
            continue
        path.write_text(text, encoding="utf-8")
        n = sum(len((r.get("body") or {}).get("events", [])) if isinstance(r.get("body"), dict) else 0
                for r in result.requests)
        print(f"recorded {path}: {len(result.requests)} requests, {n} events")
        show_logs(logs, args.verbose, failed=False)
    return status


def cmd_verify(args: argparse.Namespace) -> int:
    adapter = load_adapter(args.adapter)
    files = case_files(args.paths)
    cases = [(path, read_case(path)) for path in files]  # every file readable before any runs
    show = (lambda *a: None) if args.json else print  # with --json, stdout is the JSON alone
    verdicts: List[Verdict] = []
    for path, case in cases:
        started = time.monotonic()
        with captured_logs() as logs:
            result = run_case(case, adapter, timeout=args.timeout)
            lines = [] if result.skipped else compare(case, result, events_only=args.events_only)
        verdict = Verdict(str(case.get("name")), str(path), lines, result.skipped,
                          time.monotonic() - started, logs.lines)
        verdicts.append(verdict)
        if verdict.skipped:
            show(f"skip {verdict.name}: requires {', '.join(verdict.skipped)}")
        elif lines:
            show(f"FAIL {verdict.name} ({path})")
            for line in lines[: args.max_lines]:
                show(f"  {line}")
            if len(lines) > args.max_lines:
                show(f"  ... and {len(lines) - args.max_lines} more differences")
        else:
            show(f"ok   {verdict.name}")
        if not args.json:
            show_logs(logs, args.verbose, failed=bool(lines))
    show(summary(verdicts))
    if args.junit_xml:
        try:
            Path(args.junit_xml).write_bytes(junit_xml(verdicts))
        except OSError as e:
            raise CliError(f"--junit-xml {args.junit_xml}: cannot write it ({e.strerror}); check that its folder exists") from None
    if args.json:
        print(json.dumps(json_report(verdicts), indent=2, ensure_ascii=False))
    return 1 if any(v.status == "failed" for v in verdicts) else 0


def cmd_export_har(args: argparse.Namespace) -> int:
    path = Path(args.case)
    case = read_case(path)
    if not isinstance(case.get("expected"), dict) or "requests" not in case["expected"]:
        raise CliError(f"{path} has no expected requests yet; run `record {path}` first")
    har = json.dumps(to_har(case), indent=2, ensure_ascii=False) + "\n"
    if args.output:
        try:
            Path(args.output).write_text(har, encoding="utf-8")
        except OSError as e:
            raise CliError(f"-o {args.output}: cannot write it ({e.strerror}); check that its folder exists") from None
    else:
        sys.stdout.write(har)
    return 0


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def main(argv: Optional[List[str]] = None) -> int:
    parser = Parser(prog=PROG, description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name in ("record", "verify"):
        p = sub.add_parser(name)
        p.add_argument("--adapter", default="ours", help="ours | module:function | cmd:<command line>")
        p.add_argument("--timeout", type=float, default=20.0, help="seconds per case to deliver")
        p.add_argument("-v", "--verbose", action="store_true",
                       help="show what the implementation logged during each case")
    sub.choices["record"].add_argument("cases", nargs="+")
    sub.choices["record"].set_defaults(fn=cmd_record)
    verify = sub.choices["verify"]
    verify.add_argument("paths", nargs="+")
    verify.add_argument("--events-only", action="store_true",
                        help="compare only the delivered events (ignore batching, paths, headers, statuses)")
    verify.add_argument("--max-lines", type=int, default=40, help="differences shown per case")
    verify.add_argument("--junit-xml", metavar="FILE", help="also write the verdicts as JUnit XML")
    verify.add_argument("--json", action="store_true",
                        help="print the verdicts as one JSON document instead of text")
    verify.set_defaults(fn=cmd_verify)
    har = sub.add_parser("export-har")
    har.add_argument("case")
    har.add_argument("-o", "--output")
    har.set_defaults(fn=cmd_export_har)
    args = parser.parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.fn
    try:
        return command(args)
    except CliError as e:
        print(f"{PROG} {args.command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
