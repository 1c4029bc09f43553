"""Deep links: `Deep Link Opened` with the URL, the referrer and every query parameter
as a property, as analytics-kotlin's trackDeepLinks and analytics-swift's openURL."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from . import arguments

TYPE_CHECKING = False  # mypy reads the block below; at run time typing stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, Mapping, Optional

DEEP_LINK_OPENED = "Deep Link Opened"


def deep_link_properties(url: str, referrer: Optional[str] = None,
                         properties: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """The query parameters (the first value of a repeated one, as Android's
    getQueryParameter), then the app's `properties`, then `url` and `referrer`."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError("open_url(url): url must be a non-empty str")
    if referrer is not None and not isinstance(referrer, str):
        raise TypeError(f"open_url(referrer=): a str or None, not {type(referrer).__name__}")
    result: Dict[str, Any] = {}
    try:
        query = urlsplit(url).query
    except ValueError:  # a malformed URL (an unclosed IPv6 bracket) is still a link that was opened
        query = ""
    for name, value in parse_qsl(query, keep_blank_values=True):
        result.setdefault(name, value)
    result.update(arguments.mapping(properties, "properties"))
    result["url"] = url
    if referrer is not None:
        result["referrer"] = referrer
    return result
