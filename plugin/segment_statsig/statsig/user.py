"""The Statsig user attached to each event, from the Segment identity and traits.

- userID <- Segment userId.
- customIDs.stableID and customIDs.segmentAnonymousId <- anonymousId (the device unit
  Statsig's client SDKs use, and the custom ID Statsig's Segment docs map it to).
- email <- traits.email; country <- traits.country or traits.address.country or
  context.location.country; ip <- context.ip (or traits.ip); userAgent <- context.userAgent;
  locale <- context.locale; appVersion <- context.app.version.
- custom <- every other trait (Personas audiences included). Strings, numbers, bools and
  null stay; lists become lists of strings; objects become compact JSON text.
- userID and custom ID values are cut to 64 characters (Statsig's limit for IDs).
"""
from __future__ import annotations

from ..analytics.jsonsafe import compact_text

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, Mapping, Optional

ID_LIMIT = 64
_KNOWN = ("email", "ip", "userAgent", "country", "locale", "appVersion")
_NOT_CUSTOM = frozenset({"email", "ip", "userAgent", "country", "locale", "appVersion", "userId", "anonymousId"})


def cut_id(value: Any) -> str:
    text = value if isinstance(value, str) else compact_text(value)
    return text[:ID_LIMIT]


def _custom_value(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, list):
        return [v if isinstance(v, str) else compact_text(v) for v in value]
    return compact_text(value)


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value else None


def build_user(user_id: Optional[str], anonymous_id: Optional[str], traits: Mapping[str, Any],
               context: Mapping[str, Any]) -> Dict[str, Any]:
    """A fresh Statsig user dict (callers may extend it)."""
    user: Dict[str, Any] = {}
    if user_id is not None:
        user["userID"] = cut_id(user_id)
    custom_ids = {}
    if anonymous_id:
        custom_ids["stableID"] = cut_id(anonymous_id)
        custom_ids["segmentAnonymousId"] = cut_id(anonymous_id)
    user["customIDs"] = custom_ids
    address: Any = traits.get("address") if isinstance(traits.get("address"), dict) else {}
    location: Any = context.get("location") if isinstance(context.get("location"), dict) else {}
    app: Any = context.get("app") if isinstance(context.get("app"), dict) else {}
    found = {
        "email": _text(traits.get("email")),
        "ip": _text(context.get("ip")) or _text(traits.get("ip")),
        "userAgent": _text(context.get("userAgent")),
        "country": _text(traits.get("country")) or _text(address.get("country")) or _text(location.get("country")),
        "locale": _text(context.get("locale")),
        "appVersion": _text(app.get("version")),
    }
    for key in _KNOWN:
        if found[key] is not None:
            user[key] = found[key]
    custom = {key: _custom_value(value) for key, value in traits.items() if key not in _NOT_CUSTOM}
    if custom:
        user["custom"] = custom
    return user
