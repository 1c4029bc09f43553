"""python -m segment_statsig.testing record CASE.json | verify PATH... | export-har CASE.json

  record CASE.json...      run each case against the implementation, write its expected requests
  verify PATH...           replay cases (files or directories of *.json); a diff per mismatch;
                           exit status 1 when any case fails
  export-har CASE.json     the case's expected requests as HAR 1.2 (stdout, or -o FILE)

--adapter: 'ours' (default), 'module:function' (a Python callable taking a Session), or
'cmd:<command line>' (a subprocess reading the calls as JSON lines). See docs/CONFORMANCE.md.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List

from . import adapters
from .har import to_har
from .recording import SecretLeak, dumps_case
from .runner import compare, load_case, run_case


def case_files(paths: List[str]) -> List[Path]:
    out: List[Path] = []
    for p in map(Path, paths):
        out += sorted(p.glob("*.json")) if p.is_dir() else [p]
    return out


def cmd_record(args) -> int:
    adapter = adapters.load(args.adapter)
    status = 0
    for path in case_files(args.cases):
        case = load_case(path)
        result = run_case(case, adapter, timeout=args.timeout)
        if result.errors:
            print(f"NOT RECORDED {path}:", *result.errors, sep="\n  ", file=sys.stderr)
            status = 1
            continue
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
    return status


def cmd_verify(args) -> int:
    adapter = adapters.load(args.adapter)
    files = case_files(args.paths)
    if not files:
        print("no cases found", file=sys.stderr)
        return 2
    failed = 0
    for path in files:
        try:
            case = load_case(path)
            lines = compare(case, run_case(case, adapter, timeout=args.timeout), events_only=args.events_only)
        except (OSError, ValueError) as e:
            lines = [f"cannot read the case: {e}"]
            case = {"name": path.stem}
        if lines:
            failed += 1
            print(f"FAIL {case.get('name')} ({path})")
            for line in lines[: args.max_lines]:
                print(f"  {line}")
            if len(lines) > args.max_lines:
                print(f"  ... and {len(lines) - args.max_lines} more differences")
        else:
            print(f"ok   {case.get('name')}")
    print(f"{len(files) - failed} passed, {failed} failed")
    return 1 if failed else 0


def cmd_export_har(args) -> int:
    har = json.dumps(to_har(load_case(args.case)), indent=2, ensure_ascii=False) + "\n"
    if args.output:
        Path(args.output).write_text(har, encoding="utf-8")
    else:
        sys.stdout.write(har)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m segment_statsig.testing", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("record", "verify"):
        p = sub.add_parser(name)
        p.add_argument("--adapter", default="ours", help="ours | module:function | cmd:<command line>")
        p.add_argument("--timeout", type=float, default=20.0, help="seconds per case to deliver")
    sub.choices["record"].add_argument("cases", nargs="+")
    sub.choices["record"].set_defaults(fn=cmd_record)
    verify = sub.choices["verify"]
    verify.add_argument("paths", nargs="+")
    verify.add_argument("--events-only", action="store_true",
                        help="compare only the delivered events (ignore batching, paths, headers, statuses)")
    verify.add_argument("--max-lines", type=int, default=40, help="differences shown per case")
    verify.set_defaults(fn=cmd_verify)
    har = sub.add_parser("export-har")
    har.add_argument("case")
    har.add_argument("-o", "--output")
    har.set_defaults(fn=cmd_export_har)
    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
