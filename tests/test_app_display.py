"""demo_app.display: long values wrap at sensible points (after a space, comma, colon,
hyphen, slash or underscore), never inside a token that fits on a line."""
import json
import re

from demo_app.display import BREAKS, columns, pretty_json, wrap

UUID = "8159b2d6-0d2c-4d0f-9a4b-2f0e6c3b2c11"
USER = {"userID": "user-42", "email": "ada@example.com",
        "customIDs": {"stableID": UUID, "segmentAnonymousId": UUID},
        "custom": {"order_completed_last_30days": True}}


def tokens(text):
    return re.split("[" + re.escape(BREAKS) + "\n]+", text)


def test_a_user_as_json_wraps_between_tokens_and_keeps_every_token_whole():
    text = pretty_json(USER)
    for width in (24, 30, 40, 44, 60):
        wrapped = wrap(text, width)
        assert all(len(line) <= width for line in wrapped.splitlines()), width
        # nothing lost or added but line breaks and indentation
        assert wrapped.split() != [] and "".join(wrapped.split()) == "".join(text.split())
        # every token of the JSON that fits on a line is still whole on one line
        fits = set(t for t in tokens(text) if t.strip() and len(t) <= width - 6)
        assert fits <= set(t.strip() for t in tokens(wrapped)), width
        if width >= 40:  # room for a uuid (and its quotes and comma) on a line of its own
            assert f'"{UUID}"' in wrapped


def test_a_uuid_moves_to_its_own_line_when_it_fits_there_and_breaks_at_hyphens_when_not():
    line = f'    "segmentAnonymousId": "{UUID}",'
    assert wrap(line, 46).splitlines() == ['    "segmentAnonymousId":', f'      "{UUID}",']
    narrow = wrap(line, 30).splitlines()
    assert narrow[0] == '    "segmentAnonymousId":'
    assert all(len(x) <= 30 for x in narrow)
    assert all(x.rstrip(",").endswith("-") for x in narrow[1:-1])  # broken after hyphens only


def test_short_lines_are_left_alone_and_a_token_longer_than_a_line_is_cut():
    assert wrap("anonymousId: abc", 40) == "anonymousId: abc"
    assert wrap("x" * 25, 10).splitlines() == ["x" * 10, "  " + "x" * 8, "  " + "x" * 7]
    assert json.loads(wrap(pretty_json({"a": [1, 2, 3]}), 80)) == {"a": [1, 2, 3]}


def test_columns_of_the_monospace_font():
    assert columns(296, 13) == 36  # the phone's card at 13 px: a uuid fits
    assert columns(10, 13) == 8
