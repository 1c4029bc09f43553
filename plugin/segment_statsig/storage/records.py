"""Journal lines back to records, damage and all.

A record is one ASCII line, `["<type>", unix time, "<32 hex>", anonymousId, userId,
fields, context, integrations]` (analytics/client.py writes it, analytics/events.py
reads it). A pass of good lines is parsed whole (one parse: half the CPU of one per
line); when that fails, line by line. A line that is not one record (damage: NUL
bytes, a garbled stretch, a lost newline that glued two records together) still gives
up every whole record inside it, each found where a record starts; what is left is
counted as damage, with the reason, for one log line per pass.
"""
from __future__ import annotations

import collections
import json
import re

from ..analytics.events import OWN, RESET

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Counter, List, Optional, Tuple

    #: A decoded journal line: [type, unix time, message id, anonymousId, userId, fields, context, integrations].
    Record = List[Any]

KINDS = frozenset(("track", "screen", "page", "identify", "group", "alias", RESET, OWN))
_START = re.compile('\\["(?:%s)",' % "|".join(sorted(KINDS)))

_decoder = json.JSONDecoder()  # strict: a control character (NUL included) in a string is an error
_decode = _decoder.decode
_raw_decode = _decoder.raw_decode


class Damage:
    """What a pass could not read: lines, bytes, and why."""

    def __init__(self) -> None:
        self.lines = 0
        self.bytes = 0
        self.why: Counter[str] = collections.Counter()
        self.typical: float = 0  # bytes of a good record in the same pass: how many records the damage held

    def __bool__(self) -> bool:
        return self.lines > 0

    def add(self, nbytes: int, why: str) -> None:
        self.lines += 1
        self.bytes += nbytes
        self.why[why] += 1

    def __str__(self) -> str:
        reasons = ", ".join(why for why, _ in self.why.most_common())
        held = ""
        if self.typical:
            about = max(self.lines, round(self.bytes / self.typical))
            held = f", about {about:,} record{'s' if about != 1 else ''}"
        return f"{self.lines} damaged line{'s' if self.lines != 1 else ''} ({self.bytes:,} bytes{held}: {reasons})"


def read_records(lines: List[bytes]) -> Tuple[List[Record], Damage]:
    """(records, damage): the records `lines` hold, in order, and what they lost."""
    damage = Damage()
    joined = b",".join(lines)
    if joined.isascii():
        try:
            records: List[Record] = _decode("[" + joined.decode("ascii") + "]")
            if len(records) == len(lines) and all(map(_is_record, records)):
                return records, damage
        except (ValueError, RecursionError):  # (a line nested too deeply to read: damage, found below)
            pass
    records = []
    good = 0
    for line in lines:
        text = line.decode("latin-1")  # one character per byte, whatever the damage
        record: Any = None
        if text.isascii():
            try:
                record = _decode(text)
            except (ValueError, RecursionError):
                record = None
            if _is_record(record):
                records.append(record)
                good += len(line)
                continue
        if not text.strip():
            continue  # an empty line: nothing was there
        found, kept = _salvage(text)
        records.extend(found)
        lost = len(text.strip()) - kept
        if lost > 0:
            damage.add(lost, _why(text, record))
    if damage and records:
        damage.typical = good / max(1, len(records)) or 0
    return records, damage


def _salvage(text: str) -> Tuple[List[Record], int]:
    """Every whole record inside a damaged line: (records, characters they cover)."""
    found: List[Record] = []
    kept = after = 0
    for match in _START.finditer(text):
        at = match.start()
        if at < after:
            continue
        try:
            record, end = _raw_decode(text, at)
        except (ValueError, RecursionError):
            continue
        if _is_whole_record(record) and text[at:end].isascii():
            found.append(record)
            kept += end - at
            after = end
    return found, kept


def _why(text: str, parsed: Any) -> str:
    if "\0" in text:
        return "NUL bytes"
    if not text.isascii():
        return "non-ASCII bytes"
    if parsed is not None:
        return "not a record"
    return "not JSON"


def _is_record(record: Any) -> bool:
    return record.__class__ is list and len(record) == 8


def _is_whole_record(record: Any) -> bool:
    """Stricter, for what is found inside damage: a list inside a record's values is
    not taken for a record."""
    return (_is_record(record) and record[0].__class__ is str and record[0] in KINDS and record[2].__class__ is str
            and len(record[2]) == 32 and record[5].__class__ is dict)
