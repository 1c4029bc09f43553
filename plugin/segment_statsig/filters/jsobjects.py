"""One property of a JavaScript value read, written or deleted as JavaScript does it, and an
object's keys listed in JavaScript's order; what tsub's helpers and transformers do to data.

Arrays: an index past the end reads undefined and, written, grows the array with holes;
`length` reads the size and, written, truncates or grows it (or throws RangeError);
other names are the array's own named properties (JsArray.props), which JSON leaves out.
Strings: indexes and `length` count UTF-16 code units. Deletes are strict mode's: an
array's `length` or a string's character throws.
"""
from __future__ import annotations

import math

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Tuple

from .jsvalues import UNDEFINED, FilterError, JsArray, to_number, units, utf16_length

_MAX_INDEX = 4294967294  # the largest array index (2**32 - 2)
MAX_GROWTH = 1 << 20     # holes we add to reach an index; tsub would build a sparse array


def array_index(key: str) -> Optional[int]:
    """The index a property key names on an array or string, or None for any other key."""
    if not key or not ("0" <= key[0] <= "9") or not (key.isascii() and key.isdigit()):
        return None
    if len(key) > 1 and key[0] == "0":
        return None
    index = int(key)
    return index if index <= _MAX_INDEX else None


def own_keys(obj: Dict[str, Any]) -> List[str]:
    """A plain object's keys in JavaScript's order: array indexes ascending, then the rest as added."""
    indexes = [key for key in obj if array_index(key) is not None]
    if not indexes:
        return list(obj)
    indexes.sort(key=int)
    return indexes + [key for key in obj if array_index(key) is None]


def keys(obj: Any) -> List[str]:
    """Object.keys of a dict or an array (indexes of items that are not holes, then names)."""
    if isinstance(obj, dict):
        return own_keys(obj)
    names = list(getattr(obj, "props", None) or ())
    return [str(i) for i, item in enumerate(obj) if item is not UNDEFINED] + names


def entries(obj: Any) -> List[Tuple[str, Any]]:
    """Object.entries, which throws on null and undefined."""
    if obj is None or obj is UNDEFINED:
        raise FilterError("Cannot convert undefined or null to object")
    if isinstance(obj, (dict, list)):
        return [(key, get(obj, key)) for key in keys(obj)]
    if isinstance(obj, str):
        return [(str(i), unit) for i, unit in enumerate(units(obj))]
    return []


def for_in(obj: Any) -> List[str]:
    """The keys `for (key in obj)` visits (none for null or undefined: for-in does not throw)."""
    if isinstance(obj, (dict, list)):
        return keys(obj)
    if isinstance(obj, str):
        return [str(i) for i in range(utf16_length(obj))]
    return []


def js_items(obj: Any) -> List[Any]:
    """`for (i = 0; i < obj.length; i++) obj[i]`: a list's items (holes as undefined), a
    string's code units, nothing for what has no length; null and undefined throw."""
    if isinstance(obj, list):
        return list(obj)
    if isinstance(obj, str):
        return list(units(obj))
    length = to_number(get(obj, "length"))
    return [get(obj, str(i)) for i in range(math.ceil(length))] if 0 < length < math.inf else []


# --- one property -----------------------------------------------------------------------
def _null_name(obj: Any) -> str:
    return "null" if obj is None else "undefined"


def get(obj: Any, key: str) -> Any:
    """obj[key]; reading from null or undefined throws, as in JavaScript."""
    if isinstance(obj, dict):
        return obj.get(key, UNDEFINED)
    if isinstance(obj, list):
        index = array_index(key)
        if index is not None:
            return obj[index] if index < len(obj) else UNDEFINED
        if key == "length":
            return len(obj)
        props = getattr(obj, "props", None)
        return props.get(key, UNDEFINED) if props else UNDEFINED
    if isinstance(obj, str):
        if key == "length":
            return utf16_length(obj)
        index = array_index(key)
        if index is not None:
            text = units(obj)
            return text[index] if index < len(text) else UNDEFINED
        return UNDEFINED
    if obj is None or obj is UNDEFINED:
        raise FilterError(f"Cannot read properties of {_null_name(obj)} (reading '{key}')")
    return UNDEFINED


def has_own(obj: Any, key: str) -> bool:
    if isinstance(obj, dict):
        return key in obj
    if isinstance(obj, (list, str)):
        return key == "length" or get(obj, key) is not UNDEFINED
    return False


def set_(obj: Any, key: str, value: Any) -> None:
    """obj[key] = value (a JavaScript array grows with holes; its `length` truncates it)."""
    if isinstance(obj, dict):
        obj[key] = value
    elif isinstance(obj, list):
        index = array_index(key)
        if index is not None:
            if index < len(obj):
                obj[index] = value
            else:
                _grow(obj, index)
                obj.append(value)
        elif key == "length":
            _set_length(obj, value)
        elif isinstance(obj, JsArray):
            if obj.props is None:
                obj.props = {}
            obj.props[key] = value
        else:
            raise TypeError("a named property on a plain list: transform on a JS view (to_js)")
    elif obj is None or obj is UNDEFINED:
        raise FilterError(f"Cannot set properties of {_null_name(obj)} (setting '{key}')")
    # A property set on a string, number or boolean is silently lost (dset is sloppy-mode code).


def _grow(array: List[Any], length: int) -> None:
    if length - len(array) > MAX_GROWTH:
        raise FilterError(f"Array of length {length}: too sparse to build (tsub would)")
    array.extend([UNDEFINED] * (length - len(array)))


def _set_length(array: List[Any], value: Any) -> None:
    number = to_number(value)
    if not (number == number and 0 <= number <= 4294967295 and number == int(number)):
        raise FilterError("Invalid array length")
    length = int(number)
    if length < len(array):
        del array[length:]
    else:
        _grow(array, length)


def delete(obj: Any, key: str) -> None:
    """delete obj[key] in strict mode: a non-configurable property throws."""
    if isinstance(obj, dict):
        obj.pop(key, None)
    elif isinstance(obj, list):
        index = array_index(key)
        if index is not None:
            if index < len(obj):
                obj[index] = UNDEFINED
        elif key == "length":
            raise FilterError("Cannot delete property 'length' of [object Array]")
        elif isinstance(obj, JsArray) and obj.props:
            obj.props.pop(key, None)
    elif isinstance(obj, str):
        index = array_index(key)
        if key == "length" or (index is not None and index < utf16_length(obj)):
            raise FilterError(f"Cannot delete property '{key}' of [object String]")
    elif obj is None or obj is UNDEFINED:
        raise FilterError("Cannot convert undefined or null to object")
