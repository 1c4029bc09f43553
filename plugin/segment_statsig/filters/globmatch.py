"""FQL's `match(str, pattern)`: the glob of segmentio/glob as tsub ports it.

`*` matches any run of characters, `/` included (unlike a filesystem glob), `?` one
character, `[a-z]` / `[^a-z]` a class, `\\` escapes. A malformed pattern matches
nothing. Characters are UTF-16 code units, as in JavaScript.

The port's algorithm (each chunk between stars at the leftmost place it matches, the
last one at the end of the text), on positions rather than copies of the text. A chunk
is read once into tokens that each take one character, so trying it at a position costs
at most its length, and the last chunk has only one place to try: a match takes about
the text's length in steps times the chunk's, never the square of the text's. A match
that would take more than MAX_STEPS steps raises TooMuchWork (the caller sets the event
aside rather than hold every other event behind it).
"""
from __future__ import annotations

import functools

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import List, Optional, Tuple, Union

    #: One character of a chunk: a literal, "?" (None), or a class (wanted, [(lo, hi), …]).
    Token = Union[str, None, Tuple[bool, List[Tuple[str, str]]]]

from .jsvalues import FilterError, units

# About a second of this loop; a linear match of a megabyte-long text takes a few million.
MAX_STEPS = 4_000_000


class TooMuchWork(FilterError):
    """A match that would take more than MAX_STEPS steps."""


def glob_matches(pattern: str, subject: str, max_steps: int = MAX_STEPS) -> bool:
    text = units(subject)
    end = len(text)
    chunks = _chunks(units(pattern))
    steps = max_steps
    at = 0
    for i, (star, tokens) in enumerate(chunks):
        if tokens is None:
            return False  # a malformed chunk matches nowhere: segmentio/glob says no at its first try
        if star and not tokens:
            return True  # a trailing * matches the rest
        size = len(tokens)
        if i == len(chunks) - 1:
            # The last chunk must use up the text, and each token takes one character.
            start = end - size
            return (start == at or (star and start > at)) and _matches_at(tokens, text, start)
        if _matches_at(tokens, text, at):
            at += size
            continue
        if not star:
            return False
        found, steps = _leftmost(tokens, text, at + 1, end - size, steps)
        if found < 0:
            return False
        at = found + size
    return at == end


def _leftmost(tokens: List[Token], text: str, start: int, stop: int, steps: int) -> Tuple[int, int]:
    """(the first position in [start, stop] where `tokens` match, or -1; the steps left)."""
    first = tokens[0]
    if all(isinstance(token, str) for token in tokens):  # plain text: str.find does it in C
        found = text.find("".join(tokens), start, stop + len(tokens))  # type: ignore[arg-type]
        return found, steps - 1
    at = start
    while at <= stop:
        if isinstance(first, str):  # skip to the next place the chunk can begin, in C
            at = text.find(first, at, stop + 1)
            if at < 0:
                return -1, steps
        steps -= len(tokens)
        if steps < 0:
            raise TooMuchWork(f"match(): a pattern too costly for a text of {len(text):,} characters")
        if _matches_at(tokens, text, at):
            return at, steps
        at += 1
    return -1, steps


def _matches_at(tokens: List[Token], text: str, at: int) -> bool:
    if at < 0 or at + len(tokens) > len(text):
        return False
    for token in tokens:
        char = text[at]
        if token is None:
            pass
        elif isinstance(token, str):
            if token != char:
                return False
        else:
            wanted, ranges = token
            if any(lo <= char <= hi for lo, hi in ranges) != wanted:
                return False
        at += 1
    return True


@functools.lru_cache(maxsize=256)  # rules repeat for every event: one reading of each pattern
def _chunks(pattern: str) -> List[Tuple[bool, Optional[List[Token]]]]:
    """The pattern as (a star came first, the chunk's tokens or None when malformed)."""
    chunks: List[Tuple[bool, Optional[List[Token]]]] = []
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        chunks.append((star, _tokens(chunk)))
    return chunks


def _scan_chunk(pattern: str) -> Tuple[bool, str, str]:
    """(a star came first, the chunk up to the next star outside a class, the rest)."""
    star = False
    while pattern and pattern[0] == "*":
        pattern = pattern[1:]
        star = True
    in_range = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            if i + 1 < len(pattern):
                i += 1
        elif char == "[":
            in_range = True
        elif char == "]":
            in_range = False
        elif char == "*" and not in_range:
            break
        i += 1
    return star, pattern[:i], pattern[i:]


def _tokens(chunk: str) -> Optional[List[Token]]:
    """The chunk's tokens, or None when it is malformed: a class that does not close or
    holds a bad range (tsub: no match), a trailing backslash (tsub: a bad pattern).
    Either way, wherever the chunk is tried, the whole match fails."""
    tokens: List[Token] = []
    while chunk:
        head = chunk[0]
        if head == "[":
            chunk = chunk[1:]
            wanted = True
            if chunk and chunk[0] == "^":
                wanted, chunk = False, chunk[1:]
            ranges: List[Tuple[str, str]] = []
            while True:
                if chunk and chunk[0] == "]" and ranges:
                    chunk = chunk[1:]
                    break
                lo, chunk, err = _get_escaped(chunk)
                if err:
                    return None
                hi = lo
                if chunk[:1] == "-":
                    hi, chunk, err = _get_escaped(chunk[1:])
                    if err:
                        return None
                ranges.append((lo, hi))
            tokens.append((wanted, ranges))
        elif head == "?":
            tokens.append(None)
            chunk = chunk[1:]
        else:
            if head == "\\":
                chunk = chunk[1:]
                if chunk == "":
                    return None
            tokens.append(chunk[0])
            chunk = chunk[1:]
    return tokens


def _get_escaped(chunk: str) -> Tuple[str, str, bool]:
    """One possibly escaped character of a class: (it, the rest, bad pattern)."""
    if chunk == "" or chunk[0] in "-]":
        return "", "", True
    if chunk[0] == "\\":
        chunk = chunk[1:]
        if chunk == "":
            return "", "", True
    return chunk[0], chunk[1:], len(chunk) == 1
