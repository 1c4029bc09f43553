"""The verdicts of a `verify` run as reports for other programs: JUnit XML (what every CI
reads: one testcase per case, failures with their difference lines, skips naming the
capability) and JSON."""
from __future__ import annotations

import socket
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, Dict, List

from .capabilities import CAPABILITIES

__all__ = ["Verdict", "junit_xml", "json_report", "summary"]


@dataclass
class Verdict:
    """One case's outcome: its differences, or the capabilities it was skipped for."""

    name: str
    path: str
    lines: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    seconds: float = 0.0
    log: List[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "skipped" if self.skipped else "failed" if self.lines else "passed"

    def skip_reason(self) -> str:
        return "; ".join(f"requires {name}: {CAPABILITIES.get(name, 'not a known capability')}"
                         for name in self.skipped)


def _count(verdicts: List[Verdict], status: str) -> int:
    return sum(1 for v in verdicts if v.status == status)


def summary(verdicts: List[Verdict]) -> str:
    return (f"{_count(verdicts, 'passed')} passed, {_count(verdicts, 'failed')} failed, "
            f"{_count(verdicts, 'skipped')} skipped")


def junit_xml(verdicts: List[Verdict], suite: str = "segment-statsig conformance") -> bytes:
    """A JUnit XML document, by Jenkins' junit-10.xsd (what Jenkins, GitLab and GitHub
    reporters read): only the elements and attributes that schema names."""
    totals = {"tests": str(len(verdicts)), "failures": str(_count(verdicts, "failed")), "errors": "0",
              "time": f"{sum(v.seconds for v in verdicts):.3f}"}
    root = ET.Element("testsuites", {"name": suite, **totals})
    testsuite = ET.SubElement(root, "testsuite", {
        "name": suite, **totals, "skipped": str(_count(verdicts, "skipped")), "hostname": socket.gethostname(),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())})
    for v in verdicts:
        case = ET.SubElement(testsuite, "testcase", {"classname": "conformance", "name": v.name,
                                                     "time": f"{v.seconds:.3f}"})
        if v.status == "failed":
            n = len(v.lines)
            failure = ET.SubElement(case, "failure", {
                "message": f"{n} difference{'s' if n != 1 else ''}: {v.lines[0]}"[:500], "type": "difference"})
            failure.text = "\n".join(v.lines)
        elif v.status == "skipped":
            ET.SubElement(case, "skipped", {"message": v.skip_reason()})
        if v.log:
            ET.SubElement(case, "system-out").text = "\n".join(v.log)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def json_report(verdicts: List[Verdict]) -> Dict[str, Any]:
    cases = []
    for v in verdicts:
        entry: Dict[str, Any] = {"name": v.name, "path": v.path, "status": v.status, "seconds": round(v.seconds, 3)}
        if v.status == "failed":
            entry["differences"] = v.lines
        if v.status == "skipped":
            entry["requires"] = v.skipped
            entry["reason"] = v.skip_reason()
        cases.append(entry)
    return {"passed": _count(verdicts, "passed"), "failed": _count(verdicts, "failed"),
            "skipped": _count(verdicts, "skipped"), "cases": cases}
