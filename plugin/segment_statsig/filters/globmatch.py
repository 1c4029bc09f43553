"""FQL's `match(str, pattern)`: the glob of segmentio/glob as tsub ports it.

`*` matches any run of characters, `/` included (unlike a filesystem glob), `?` one
character, `[a-z]` / `[^a-z]` a class, `\\` escapes. A malformed pattern matches
nothing. Characters are UTF-16 code units, as in JavaScript.
"""
from __future__ import annotations

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Optional, Tuple

from .jsvalues import units

_NO = ("", False, False)


def glob_matches(pattern: str, subject: str) -> bool:
    pattern, text = units(pattern), units(subject)
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        if star and chunk == "":
            return True  # a trailing * matches the rest
        rest, ok, err = _match_chunk(chunk, text)
        if err:
            return False
        if ok and (rest == "" or pattern != ""):
            text = rest
            continue
        if star:
            skipped = _skip_to_match(chunk, pattern, text)
            if skipped is not None:
                text = skipped
                continue
        return False
    return text == ""


def _skip_to_match(chunk: str, pattern: str, text: str) -> Optional[str]:
    """Where the chunk matches after skipping 1, 2, … characters for a star; None if nowhere."""
    for i in range(len(text)):
        rest, ok, err = _match_chunk(chunk, text[i + 1:])
        if ok:
            if pattern == "" and rest != "":
                continue  # the last chunk must use up the text
            return rest
        if err:
            return None
    return None


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


def _match_chunk(chunk: str, text: str) -> Tuple[str, bool, bool]:
    """Whether the chunk matches the start of text: (what is left of text, ok, bad pattern)."""
    while chunk:
        if text == "":
            return _NO
        head = chunk[0]
        if head == "[":
            char, text, chunk = text[0], text[1:], chunk[1:]
            wanted = True
            if chunk and chunk[0] == "^":
                wanted, chunk = False, chunk[1:]
            found = False
            ranges = 0
            while True:
                if chunk and chunk[0] == "]" and ranges > 0:
                    chunk = chunk[1:]
                    break
                lo, chunk, err = _get_escaped(chunk)
                if err:
                    return _NO  # tsub returns "no match" here, not "bad pattern"
                hi = lo
                if chunk[:1] == "-":
                    hi, chunk, err = _get_escaped(chunk[1:])
                    if err:
                        return _NO
                if lo <= char <= hi:
                    found = True
                ranges += 1
            if found != wanted:
                return _NO
        elif head == "?":
            text, chunk = text[1:], chunk[1:]
        else:
            if head == "\\":
                chunk = chunk[1:]
                if chunk == "":
                    return "", False, True
            if chunk[0] != text[0]:
                return _NO
            text, chunk = text[1:], chunk[1:]
    return text, True, False


def _get_escaped(chunk: str) -> Tuple[str, str, bool]:
    """One possibly escaped character of a class: (it, the rest, bad pattern)."""
    if chunk == "" or chunk[0] in "-]":
        return "", "", True
    if chunk[0] == "\\":
        chunk = chunk[1:]
        if chunk == "":
            return "", "", True
    return chunk[0], chunk[1:], len(chunk) == 1
