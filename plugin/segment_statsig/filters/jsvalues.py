"""JavaScript's view of JSON data, as tsub sees it: undefined, arrays with holes, typeof,
===, truthiness, UTF-16 lengths, ToNumber and ToString (jsobjects.py reads and writes
properties).

tsub runs in JavaScript, and its edge cases (a path into a string, `length` of a list, a
number where a path should be, `delete` in strict mode) follow JavaScript's rules, not
Python's. This module is where those rules live; the rest of the package reads like tsub.

Values are what `json.loads` returns (dict with str keys, list, str, int, float, bool,
None), plus, while a transform runs, UNDEFINED and JsArray (a list that can hold holes
and named properties, as a JavaScript array can). Python ints are JavaScript numbers:
compared and printed as the double they would be. JavaScript's built-in members
(`constructor`, `toString`, string and array methods…) are not modelled: a path naming
one that the event does not hold finds nothing. Which members exist depends on the
JavaScript engine that runs tsub; `length` of strings and arrays and indexes into
strings, which every engine has, are modelled.
"""
from __future__ import annotations

import math

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, Optional

# JavaScript's WhiteSpace and LineTerminator code points: what trim() and Number() strip.
JS_SPACE = ("\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
            "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff")


class FilterError(ValueError):
    """tsub throws here: a rule it cannot run, or a JavaScript TypeError / RangeError."""


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()


class JsArray(list):  # type: ignore[type-arg]
    """A JavaScript array: a list whose items may be holes (UNDEFINED), with named properties."""

    __slots__ = ("props",)

    def __init__(self, items: Any = ()) -> None:
        super().__init__(items)
        self.props: Optional[Dict[str, Any]] = None


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_object(value: Any) -> bool:
    """typeof value === 'object' (null included)."""
    return value is None or isinstance(value, (dict, list))


def as_float(value: Any) -> float:
    """The double a JavaScript number is (ints too large for a double are Infinity)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def typeof(value: Any) -> str:
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, bool):
        return "boolean"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def truthy(value: Any) -> bool:
    if value is None or value is UNDEFINED:
        return False
    if isinstance(value, bool):
        return value
    if is_number(value):
        number = as_float(value)
        return number == number and number != 0
    if isinstance(value, str):
        return value != ""
    return True


def strict_equal(a: Any, b: Any) -> bool:
    """a === b: same type and value; objects by identity; NaN equals nothing."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if is_number(a):
        return is_number(b) and as_float(a) == as_float(b)
    if isinstance(a, str):
        return isinstance(b, str) and a == b
    return a is b


# --- UTF-16: JavaScript strings are code units, Python's are code points ----------------
def units(text: str) -> str:
    """The string with every character outside the BMP split into its two surrogates."""
    if text.isascii() or max(text) < "\U00010000":
        return text
    data = text.encode("utf-16-le", "surrogatepass")
    return "".join(chr(data[i] | data[i + 1] << 8) for i in range(0, len(data), 2))


def utf16_length(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# --- conversions ----------------------------------------------------------------------
def number_to_string(value: Any) -> str:
    """Number::toString: the shortest digits that round-trip, laid out as JavaScript does."""
    x = as_float(value)
    if x != x:
        return "NaN"
    if x == 0:
        return "0"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    sign = "-" if x < 0 else ""
    mantissa, _, exp = repr(abs(x)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    if fraction == "0":
        fraction = ""
    all_digits = whole + fraction
    leading = len(all_digits) - len(all_digits.lstrip("0"))
    digits = all_digits.strip("0")
    k = len(digits)
    n = len(whole) + (int(exp) if exp else 0) - leading  # value = 0.digits x 10**n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        text = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))
    return sign + text


def to_string(value: Any) -> str:
    """ToString (and ToPropertyKey) of a JSON value."""
    if isinstance(value, str):
        return value
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return number_to_string(value)
    if isinstance(value, list):
        return ",".join("" if item is None or item is UNDEFINED else to_string(item) for item in value)
    return "[object Object]"


def _string_to_number(text: str) -> float:
    text = text.strip(JS_SPACE)
    if text == "":
        return 0.0
    body = text[1:] if text[0] in "+-" else text
    if body in ("Infinity",):
        return -math.inf if text[0] == "-" else math.inf
    if len(text) > 2 and text[0] == "0" and text[1] in "xXoObB":
        base = {"x": 16, "o": 8, "b": 2}[text[1].lower()]
        digits = text[2:]
        allowed = "0123456789abcdefABCDEF"[: base if base <= 10 else 22]
        if digits and all(c in allowed for c in digits):
            return as_float(int(digits, base))
        return math.nan
    if _is_decimal_literal(body):
        return float(text)
    return math.nan


def _is_decimal_literal(body: str) -> bool:
    """StrUnsignedDecimalLiteral without Infinity: digits[.digits][e[+-]digits], ASCII only."""
    mantissa, e, exponent = body.replace("E", "e").partition("e")
    if e:
        if exponent[:1] in ("+", "-"):
            exponent = exponent[1:]
        if not (exponent and exponent.isascii() and exponent.isdigit()):
            return False
    whole, _, fraction = mantissa.partition(".")
    if not (whole or fraction):
        return False
    return all(part == "" or (part.isascii() and part.isdigit()) for part in (whole, fraction))


def to_number(value: Any) -> float:
    """ToNumber (after ToPrimitive for arrays and objects)."""
    if is_number(value):
        return as_float(value)
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if value is None:
        return 0.0
    if isinstance(value, str):
        return _string_to_number(value)
    if isinstance(value, list):
        return _string_to_number(to_string(value))
    return math.nan
