"""Segment Spec events: the record the caller's thread writes, and the event the
timeline worker makes of it.

A record is a compact JSON line: [type, unix time, message id (32 hex), anonymousId,
userId, fields, context, integrations]. The caller's thread only stamps and writes
it; uuid formatting, ISO timestamps and context enrichment happen on the worker.
"""
from __future__ import annotations

import datetime
import math
import os
import random

from .jsonsafe import compact

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, List, Optional, Tuple

    from .._typing import Event, Timestamp

# The journal record, one line: [type, unix time, message id (32 hex), anonymousId,
# userId, fields, context, integrations]. Written on the caller's thread with this
# format (the type; repr of the time; 128 random bits; ids_text(); the rest, already
# JSON, without its brackets), read back by storage/records.py and to_event() below.
RECORD_LINE = '["%s",%r,"%032x",%s,%s]\n'

# Message ids: 128 bits from a generator of our own, seeded from os.urandom (uuid4() costs
# 3x more). Not the random module's: an app that seeds it (random.seed(0) at each launch)
# would repeat message ids across launches, and Segment drops an id it has seen.
_ids = random.Random()
message_bits = _ids.getrandbits
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_ids.seed)  # a forked child must not repeat its parent's ids


def ids_text(anonymous_id: Optional[str], user_id: Optional[str]) -> str:
    """The record's `anonymousId,userId` part, made once per identity change, not per call."""
    return compact([anonymous_id, user_id])[1:-1]


RESET = "_reset"  # not a Segment event: tells plugins to forget the user, in call order
# Not a Segment event either: a destination's own event made on the caller's thread
# (Statsig's exposures), journaled to keep its place in call order; fields
# {"destination": key, "payload": {...}} go to that destination's own_event().
OWN = "_own"


_second_text: Tuple[Optional[int], str] = (None, "")  # the last whole second formatted (one tuple: threads read it whole)


def iso_timestamp(unix_time: float) -> str:
    """ISO-8601 UTC with milliseconds, as Segment's SDKs write it (years 0001-9999)."""
    ms = math.floor(unix_time * 1000)  # floor, never rounds up into the next second (nor, before 1970, down)
    second, millis = divmod(ms, 1000)
    global _second_text
    cached = _second_text
    if cached[0] != second:
        moment = _EPOCH + datetime.timedelta(seconds=second)
        # Not strftime: it writes year 1 as "1", which no ISO-8601 reader takes back.
        cached = _second_text = (second, f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
                                         f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.")
    return f"{cached[1]}{millis:03d}Z"


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
# The instants an ISO-8601 timestamp of years 0001-9999 can name, in unix seconds.
MIN_UNIX = (datetime.datetime(1, 1, 1, tzinfo=datetime.timezone.utc) - _EPOCH).total_seconds()
MAX_UNIX = (datetime.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=datetime.timezone.utc) - _EPOCH).total_seconds()


def parse_timestamp(value: Timestamp) -> float:
    """A caller's `timestamp=`: datetime (naive = UTC), unix seconds or ISO-8601 text, as
    unix seconds. TypeError for another type, ValueError for a time no ISO-8601
    timestamp can name (NaN, infinities, beyond year 9999 - such as milliseconds
    passed as seconds): refused here, never accepted and then dropped."""
    if isinstance(value, datetime.datetime):
        try:
            if value.tzinfo is None:
                value = value.replace(tzinfo=datetime.timezone.utc)
            seconds = (value - _EPOCH).total_seconds()
        except Exception as error:  # a tzinfo whose utcoffset() raises or is out of range
            raise ValueError(f"timestamp {value!r} cannot be read: {type(error).__name__}: {error}") from None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:
            raise ValueError(f"timestamp {value!r} is out of range (unix seconds, years 0001-9999)") from None
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"timestamp {value!r} is not ISO-8601 text") from None
        return parse_timestamp(moment)
    else:
        raise TypeError(f"timestamp must be a datetime, unix seconds or ISO-8601 text, not {type(value).__name__}")
    if not MIN_UNIX <= seconds <= MAX_UNIX:  # also False for NaN
        raise ValueError(f"timestamp {value!r} is out of range: unix seconds of years 0001-9999 "
                         "(milliseconds passed as seconds?)")
    return seconds


_second_epoch: Tuple[Optional[str], int] = (None, 0)


def unix_ms(iso: str) -> int:
    """Milliseconds since the epoch of an ISO-8601 timestamp."""
    if len(iso) == 24 and iso[19] == "." and iso[23] == "Z":  # our own form: cache its second
        global _second_epoch
        cached = _second_epoch
        if cached[0] != iso[:19]:
            cached = _second_epoch = (iso[:19], _unix_ms(iso[:19] + "Z") // 1000)
        return cached[1] * 1000 + int(iso[20:23])
    return _unix_ms(iso)


def _unix_ms(iso: str) -> int:
    text = iso[:-1] + "+00:00" if iso.endswith("Z") else iso
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return (moment - _EPOCH) // _MILLISECOND  # exact, for years 0001-9999 alike


_MILLISECOND = datetime.timedelta(milliseconds=1)


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def message_id(hex32: str) -> str:
    """A uuid4-shaped string from 32 random hex digits."""
    h = hex32
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def to_event(record: List[Any]) -> Event:
    """The Segment event for a record (a decoded journal line)."""
    kind, unix_time, mid, anonymous_id, user_id, fields, context, integrations = record
    event = {
        "type": kind,
        "messageId": message_id(mid),
        "timestamp": iso_timestamp(unix_time),
        "anonymousId": anonymous_id,
        "context": context or {},
        "integrations": integrations or {},
    }
    if user_id is not None:
        event["userId"] = user_id
    if fields:
        event.update(fields)
    return event
