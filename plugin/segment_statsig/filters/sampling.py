"""`sample_event`: whether an event is kept, as tsub 2.0.1 decides it.

`{"sample": {"percent": p, "path": path}}`, p read as JavaScript's Number() reads it:
- p <= 0 drops every event, p >= 1 keeps every one, p that is no number (NaN) drops it.
- no path (or an empty one): kept when a random draw in [0, 1) is <= p. The draw comes
  from the `random` callable given to transform() (our own generator by default), so a test
  can fix it.
- a path, 0 < p < 1: kept, always. tsub means to keep a fixed share of the values found
  there (MD5 of the value's JSON text turned into a number in [0, 1), kept when < p),
  but the number it computes is always 0: its `ldexp` (@stdlib/math-base-special-ldexp
  0.0.5) calls its helpers in their old out-parameter form, and the helper versions its
  `^0.0.x` ranges install (normalize 0.0.9, to-words 0.0.7) return a new array instead;
  the fraction it scales stays 0. analytics.js's vendored copy of tsub has the same
  helpers. What remains observable is the JSON text: a value JSON cannot write (a cycle)
  throws, so it raises here too. docs/FILTERS.md has the whole story.
"""
from __future__ import annotations

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable, Optional

from . import paths
from .jsjson import stringify
from .jsobjects import get
from .jsvalues import to_number, truthy

if TYPE_CHECKING:
    Random = Callable[[], float]


_draws: Optional[Callable[[], float]] = None


def standard_random() -> float:
    """The default draw, in [0, 1) as Math.random: from a generator of our own, seeded
    from os.urandom, so an app that seeds the random module at launch does not make
    every device sample the same events."""
    global _draws
    if _draws is None:
        import random  # only here: it loads hashlib

        _draws = random.Random().random
    return _draws()


def keeps(payload: Any, config: Any, random: Random) -> bool:
    """tsub's sampleEvent(payload, config): True keeps the event."""
    sample = get(config, "sample")
    percent = to_number(get(sample, "percent"))
    if percent <= 0:
        return False
    if percent >= 1:
        return True
    path = get(sample, "path")
    if not truthy(path):
        return random() <= percent
    return _consistent_fraction(paths.read(payload, path)) < percent


def _consistent_fraction(value: Any) -> float:
    """What tsub 2.0.1's sampleConsistentPercent compares with p: ldexp(…) that is always 0.

    tsub hashes JSON.stringify(value) first; that can throw, the rest cannot.
    """
    stringify(value)
    return 0.0
