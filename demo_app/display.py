"""How the demo writes long values (IDs, URLs, JSON) so that they wrap where a reader
expects: after a space, a comma, a colon, a hyphen, a slash or an underscore, never
inside a token that fits on a line.

Kivy's Label wraps only at spaces and cuts a longer word anywhere, so the .kv gives
these texts a monospace font and asks for them already wrapped to the columns that fit:
``text: display.wrap(value, display.columns(self.width, self.font_size))``.
"""
from __future__ import annotations

import json

#: a line may end right after one of these
BREAKS = " ,:-/_"
#: RobotoMono's advance width, in em (1229 of 2048 units)
MONO_ADVANCE = 0.6001


def columns(width, font_size):
    """How many monospace characters fit in `width` pixels at `font_size` pixels."""
    return max(8, int(width / (font_size * MONO_ADVANCE)) - 1)


def wrap(text, width):
    """`text` with every line longer than `width` characters broken at the last space
    that fits (or, inside a token longer than a line, the last other break point);
    continuation lines are indented two more than their line, or less to keep a token whole."""
    width = max(8, int(width))
    out = []
    for line in str(text).split("\n"):
        indent = len(line) - len(line.lstrip(" "))
        more = " " * min(indent + 2, width // 2)
        floor = indent  # never break inside the indentation
        while len(line) > width:
            head = line[:width]
            cut = head.rfind(" ")  # the break character's index: a space (between tokens) first
            word = line[cut + 1:].split(" ", 1)[0]
            step = more
            if cut >= floor and len(word) <= width:
                step = more[:width - len(word)]  # less indentation rather than a broken token
            else:  # no space, or the token after it needs breaking anyway
                cut = max(cut, *(head.rfind(c) for c in BREAKS))
                if cut < floor:  # one token longer than a line: cut it where the line ends
                    cut = width - 1
            out.append(line[:cut + 1].rstrip(" "))
            line = step + line[cut + 1:].lstrip(" ")
            floor = len(step)
        out.append(line)
    return "\n".join(out)

def pretty_json(value):
    """Indented JSON with a space after every comma and colon (break points for wrap)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
