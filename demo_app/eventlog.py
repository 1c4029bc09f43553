"""What the event log screen shows: each Segment call, the Statsig event it became,
and that event's delivery state. Fed from two worker threads, read by the UI thread.

- EventObserver is an enrichment plugin: it sees every Segment event on the timeline
  worker just before the destinations get it.
- StatsigDestination's listener reports "queued" on that same worker, right after, so
  the Statsig event is paired with the call that made it; "sent", "retrying" and
  "dropped" come from the delivery worker and are matched by the event's content.
- Exposures (statsig::gate_exposure, statsig::config_exposure, ...) come from no Segment
  call: a gate or experiment check logs them, and the destination's values thread
  queues them. Each gets a row of its own, kind "exposure".
"""
from __future__ import annotations

import collections
import itertools
import json
import threading

from segment_statsig import Plugin, PluginType

_SHORT = 160


def _short(value, limit=_SHORT):
    text = value if isinstance(value, str) else json.dumps(value, separators=(", ", ": "), ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _key(statsig_event):
    return json.dumps(statsig_event, sort_keys=True, separators=(",", ":"))


def describe_call(event):
    """('track', 'Login Button Clicked', '{"method": "email"}') for a Segment event."""
    kind = event.get("type", "?")
    if kind == "track":
        return kind, event.get("event", ""), _short(event.get("properties") or {})
    if kind in ("screen", "page"):
        return kind, event.get("name") or "(no name)", _short(event.get("properties") or {})
    if kind == "identify":
        return kind, event.get("userId") or "(anonymous)", _short(event.get("traits") or {})
    if kind == "group":
        return kind, event.get("groupId", ""), _short(event.get("traits") or {})
    if kind == "alias":
        return kind, event.get("userId", ""), "from " + str(event.get("previousId"))
    return kind, "", ""


EXPOSURE_PREFIX = "statsig::"


def describe_exposure(statsig_event):
    """('exposure', 'express_checkout = true') for a Statsig exposure event."""
    meta = statsig_event.get("metadata") or {}
    if "gate" in meta:
        return "exposure", f"{meta['gate']} = {meta.get('gateValue', '?')}"
    name = meta.get("config", "")
    if meta.get("parameterName"):
        name += "." + meta["parameterName"]
    rule = meta.get("ruleID")
    return "exposure", name + (f"  ({rule})" if rule else "")


def describe_user(user):
    parts = []
    if user.get("userID"):
        parts.append("userID " + user["userID"])
    stable = (user.get("customIDs") or {}).get("stableID")
    if stable:
        parts.append("stableID " + stable[:8] + "…")
    if user.get("email"):
        parts.append(user["email"])
    for key, value in (user.get("custom") or {}).items():
        parts.append(f"{key}={json.dumps(value)}")
    return ", ".join(parts) or "(no user)"


class Entry:
    __slots__ = ("number", "kind", "name", "detail", "statsig", "state", "status", "tries")

    def __init__(self, number, kind, name, detail):
        self.number = number
        self.kind = kind
        self.name = name
        self.detail = detail
        self.statsig = None   # the Statsig event dict, once the destination made one
        self.state = "no event" if kind in ("identify", "group", "alias") else "pending"
        self.status = None
        self.tries = 0

    def row(self):
        """The fields of one row of the event log's RecycleView."""
        if self.statsig is None:
            if self.kind == "identify":
                statsig = "No Statsig event: sets the user of later events"
            elif self.state == "pending":
                statsig = "Waiting for the Statsig destination…"
            else:
                statsig = "No Statsig event for a " + self.kind + " call"
            metadata = ("traits: " if self.kind in ("identify", "group") else "") + self.detail
            user = ""
        else:
            statsig = self.statsig.get("eventName", "?")
            if "value" in self.statsig:
                statsig += f"   value {self.statsig['value']}"
            meta = self.statsig.get("metadata") or {}
            metadata = "metadata: " + (_short(meta, 200) if meta else "(none)")
            user = "user: " + describe_user(self.statsig.get("user") or {})
        state = self.state + (f" {self.status}" if self.status is not None else "")
        if self.state == "retrying" and self.tries > 1:
            state += f" ×{self.tries}"
        return {"call_text": f"{self.kind}  {self.name}", "statsig_text": statsig, "metadata_text": metadata,
                "user_text": user, "state": self.state, "state_text": state}


class EventLog:
    def __init__(self, on_change=None, limit=500):
        self.on_change = on_change   # called on a worker thread after each change
        self.limit = limit
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._entries = collections.deque(maxlen=limit)
        self._current = None         # the entry the timeline worker is processing
        self._waiting = {}           # statsig event key -> deque of entries
        self.counts = collections.Counter()

    # --- feeds ------------------------------------------------------------------
    def observe(self, event):
        kind, name, detail = describe_call(event)
        with self._lock:
            entry = Entry(next(self._numbers), kind, name, detail)
            self._entries.append(entry)
            self._current = entry
        self._changed()

    def listener(self, state, events, status):
        with self._lock:
            for statsig_event in events:
                key = _key(statsig_event)
                exposure = statsig_event.get("eventName", "").startswith(EXPOSURE_PREFIX)
                if state == "queued" and exposure:  # from a check, not from the current call
                    entry = Entry(next(self._numbers), *describe_exposure(statsig_event), "")
                    entry.statsig = dict(statsig_event)
                    entry.state = "queued"
                    self._entries.append(entry)
                    self._waiting.setdefault(key, collections.deque()).append(entry)
                    continue
                if state == "queued":
                    entry = self._current
                    if entry is None or entry.statsig is not None or entry.state == "no event":
                        # e.g. a lifecycle event journaled before the observer was added
                        entry = Entry(next(self._numbers), "?", statsig_event.get("eventName", ""), "")
                        self._entries.append(entry)
                    entry.statsig = dict(statsig_event)
                    entry.state = "queued"
                    self._waiting.setdefault(key, collections.deque()).append(entry)
                    continue
                waiting = self._waiting.get(key)
                if waiting:
                    entry = waiting[0] if state == "retrying" else waiting.popleft()
                    if not waiting and state != "retrying":
                        del self._waiting[key]
                else:  # queued in an earlier session of the app, delivered now
                    if exposure:
                        kind, rest = describe_exposure(statsig_event)
                    else:
                        kind, _, rest = statsig_event.get("eventName", "").partition(":")
                        kind = kind.replace("segment_", "") or "?"
                    entry = Entry(next(self._numbers), kind, rest + "  (earlier session)", "")
                    entry.statsig = dict(statsig_event)
                    self._entries.append(entry)
                    if state == "retrying":
                        self._waiting.setdefault(key, collections.deque()).append(entry)
                entry.state = state
                entry.status = status
                if state == "retrying":
                    entry.tries += 1
            self.counts[state] += len(events)
        self._changed()

    def _changed(self):
        if self.on_change is not None:
            self.on_change()

    # --- reading ----------------------------------------------------------------
    def rows(self):
        """Newest first."""
        with self._lock:
            return [entry.row() for entry in reversed(self._entries)]

    def entries(self):
        with self._lock:
            return list(self._entries)


class EventObserver(Plugin):
    """Feeds the event log with every Segment event, just before the destinations."""

    type = PluginType.ENRICHMENT

    def __init__(self, log):
        self.log = log

    def execute(self, event):
        self.log.observe(event)
        return event
