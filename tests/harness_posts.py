"""Posts to the fake Statsig the way Statsig's SDKs make them (our Python one, the JS client), for the harness tests."""
import json

import requests

KEY = "client-harnesstestkey"


def post(fake, path="/log_event", body=None, *, key=KEY, raw=None, headers=None, timeout=5, **kw):
    h = {"Content-Type": "application/json"}
    if key is not None and path == "/log_event":
        h["STATSIG-API-KEY"] = key
    h.update(headers or {})
    data = raw if raw is not None else json.dumps(body if body is not None else {"events": [{"eventName": "e"}]})
    return requests.post(fake.url + path, data=data, headers=h, timeout=timeout, **kw)


def events(*names):
    return {"events": [{"eventName": n, "user": {"userID": "u"}, "time": 1} for n in names],
            "statsigMetadata": {"sdkType": "test"}}


JS_QUERY = f"k={KEY}&st=javascript-client&sv=3.33.5&t=1714564800123&sid=s-1"
TEXT_PLAIN = {"Content-Type": "text/plain;charset=UTF-8"}


def js_post(fake, path, data, query=JS_QUERY, headers=None):
    return requests.post(f"{fake.url}{path}?{query}", data=data, headers={**TEXT_PLAIN, **(headers or {})},
                         timeout=5)
