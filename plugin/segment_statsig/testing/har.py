"""A recording's expected requests as an HTTP Archive (HAR 1.2), for browser devtools
(Network panel -> Import HAR) or any HAR viewer."""
from __future__ import annotations

import json
import urllib.parse
from typing import Any, Dict, List

from ..version import __version__

#: where each recorded request would have gone: the defaults of Statsig's clients
STATSIG_URLS = {
    # Statsig's HTTP API docs (events intake): the plugin's default log_event URL
    "/v1/log_event": "https://events.statsigapi.net/v1/log_event",
    # @statsig/client-core NetworkDefault (3.33.5): initializeApi and eventsApi
    "/v1/initialize": "https://featureassets.org/v1/initialize",
    "/v1/rgstr": "https://prodregistryv2.org/v1/rgstr",
}
#: any other path: on the events host
STATSIG_ORIGIN = "https://events.statsigapi.net"
_EPOCH = "2024-01-01T00:00:00.000Z"

_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


def to_har(case: Dict[str, Any]) -> Dict[str, Any]:
    entries = [_entry(r) for r in (case.get("expected") or {}).get("requests", [])]
    return {"log": {
        "version": "1.2",
        "creator": {"name": "segment_statsig.testing", "version": __version__},
        "pages": [],
        "entries": entries,
        "comment": f"{case.get('name', '')}: {case.get('description', '')}".strip(": "),
    }}


def _entry(request: Dict[str, Any]) -> Dict[str, Any]:
    query = request.get("query") or {}
    base = STATSIG_URLS.get(request["path"], STATSIG_ORIGIN + request["path"])
    url = base + ("?" + urllib.parse.urlencode(query) if query else "")
    body = request.get("body")
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    headers = _pairs(request.get("headers") or {})
    found = request.get("status")
    status = found if isinstance(found, int) and not isinstance(found, bool) else 0  # 0: no answer
    answered = status != 0
    reply = json.dumps({"success": True} if 200 <= status < 300 else {"success": False})
    return {
        "startedDateTime": _EPOCH,
        "time": 0,
        "request": {
            "method": request["method"], "url": url, "httpVersion": "HTTP/1.1",
            "cookies": [], "headers": headers, "queryString": _pairs(query),
            "postData": {"mimeType": (request.get("headers") or {}).get("content-type", "application/json"),
                         "text": text},
            "headersSize": -1, "bodySize": len(text.encode("utf-8")),
        },
        "response": {
            "status": status,
            "statusText": _REASONS.get(status, "") if answered else "no answer (connection dropped)",
            "httpVersion": "HTTP/1.1", "cookies": [],
            "headers": [{"name": "Content-Type", "value": "application/json"}] if answered else [],
            "content": {"size": len(reply) if answered else 0, "mimeType": "application/json",
                        "text": reply if answered else ""},
            "redirectURL": "", "headersSize": -1, "bodySize": len(reply) if answered else -1,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 0, "receive": 0},
    }


def _pairs(mapping: Dict[str, Any]) -> List[Dict[str, str]]:
    return [{"name": k, "value": str(v)} for k, v in mapping.items()]
