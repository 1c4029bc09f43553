"""A model of a phone's cellular radio: from the times of a session's requests, the
wake-ups, the seconds in the high-power state and the energy they cost.

The LTE parameters are AT&T's ARO profile (attdevsupport/VideoOptimizer, lte.conf): a
request that finds the radio idle waits for its promotion (0.26 s at 1.21 W); after the
last byte the radio stays in its high-power tail for 10.12 s (1.06 W) and any request
then goes out at once and starts the tail again. Transfers here are short replies, so a
request counts as an instant at its start (plus its duration when one is given).
"""
from __future__ import annotations

TYPE_CHECKING = False  # mypy reads the block below; at run time typing stays unloaded
if TYPE_CHECKING:
    from typing import Iterable, List, Tuple, Union

    Request = Union[float, Tuple[float, float]]


class Profile:
    """A radio's state machine parameters (seconds, watts) and where they come from."""

    def __init__(self, name: str, promotion: float, promotion_watts: float, tail: float, tail_watts: float,
                 source: str) -> None:
        self.name = name
        self.promotion = promotion
        self.promotion_watts = promotion_watts
        self.tail = tail
        self.tail_watts = tail_watts
        self.source = source

    def describe(self) -> str:
        return (f"{self.name}: promotion {self.promotion:g} s at {self.promotion_watts:g} W, tail {self.tail:g} s "
                f"at {self.tail_watts:g} W ({self.source})")


LTE = Profile("LTE", 0.26, 1.21, 10.12, 1.06, "AT&T ARO, attdevsupport/VideoOptimizer lte.conf")


class Usage:
    """What a list of requests cost: wake-ups, high-power seconds, joules, and the radio's
    high-power spells as (start, promotion end, end) for a timeline plot."""

    def __init__(self, wakeups: int, high_power_seconds: float, joules: float,
                 spells: List[Tuple[float, float, float]]) -> None:
        self.wakeups = wakeups
        self.high_power_seconds = high_power_seconds
        self.joules = joules
        self.spells = spells

    def per_hour(self, session_seconds: float) -> Tuple[float, float, float]:
        """(wake-ups, high-power seconds, joules) per hour of sessions like this one."""
        scale = 3600.0 / session_seconds
        return self.wakeups * scale, self.high_power_seconds * scale, self.joules * scale


def usage(requests: Iterable[Request], profile: Profile = LTE) -> Usage:
    """The radio's cost of requests made at these times (seconds; or (start, duration))."""
    spans = sorted((r, 0.0) if isinstance(r, (int, float)) else (float(r[0]), float(r[1])) for r in requests)
    spells: List[Tuple[float, float, float]] = []
    for start, duration in spans:
        if spells and start < spells[-1][2]:  # still high-power: no wake-up, the tail starts again
            first, promoted, end = spells[-1]
            spells[-1] = (first, promoted, max(end, start + duration + profile.tail))
        else:  # idle: a wake-up, the promotion, the transfer, the tail
            promoted = start + profile.promotion
            spells.append((start, promoted, promoted + duration + profile.tail))
    promotion_seconds = profile.promotion * len(spells)
    high = sum(end - first for first, _, end in spells)
    joules = promotion_seconds * profile.promotion_watts + (high - promotion_seconds) * profile.tail_watts
    return Usage(len(spells), high, joules, spells)
