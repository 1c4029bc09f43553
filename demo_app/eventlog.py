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
- Privacy: "blocked" (consent) and "filtered" (a destination filter) come on the timeline
  worker with the Segment event instead of a Statsig one: the current call made no
  Statsig event. "purged" (Analytics.purge) marks every row still waiting "erased" and
  adds a row saying how many.

A row shows a line of each; tapping it opens ``detail(number)``: the whole Segment event,
the whole Statsig event and its user, and the delivery history. ``unseen()`` counts the
rows that arrived since ``mark_seen()`` (the Events tab's badge).
"""
from __future__ import annotations

import collections
import itertools
import json
import threading
import time

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
    """('exposure', 'express_checkout = true', 'rule default') for a Statsig exposure event."""
    meta = statsig_event.get("metadata") or {}
    rule = meta.get("ruleID")
    detail = f"rule {rule}" if rule else ""
    if "gate" in meta:
        return "exposure", f"{meta['gate']} = {meta.get('gateValue', '?')}", detail
    name = meta.get("config", "")
    if meta.get("parameterName"):
        name += "." + meta["parameterName"]
    return "exposure", name, detail


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


def _json(value):
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _copy(event):
    """A copy the log keeps: later plugins may change the event they were given."""
    return json.loads(json.dumps(event, default=str))


def describe_consent(event):
    """'consent: analytics=false, marketing=true': the stamp the ConsentManager put on it."""
    stamp = ((event.get("context") or {}).get("consent") or {}).get("categoryPreferences")
    if not isinstance(stamp, dict):
        return "consent: (no stamp)"
    return "consent: " + (", ".join(f"{k}={json.dumps(v)}" for k, v in stamp.items()) or "(nothing given)")


#: why no Statsig event was made of a call, by the destination's listener state
NOT_SENT = {"blocked": "Not sent: blocked by consent",
            "filtered": "Not sent: filtered by a rule"}
NOT_SENT_WHY = {"blocked": "The event's consent stamp lacks a category Statsig needs, so the consent "
                           "blocker kept it from Statsig.",
                "filtered": "A routing rule in the settings (middlewareSettings.routingRules) for "
                            "Statsig dropped it before the destination made a Statsig event."}


def _clock_text(t):
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(round(t % 1 * 1000)) % 1000:03d}"


class Entry:
    __slots__ = ("number", "kind", "name", "detail", "segment", "statsig", "state", "status", "tries",
                 "earlier", "history")

    def __init__(self, number, kind, name, detail, segment=None):
        self.number = number
        self.kind = kind
        self.name = name
        self.detail = detail
        self.segment = segment  # the Segment event (None for exposures and earlier sessions)
        self.statsig = None     # the Statsig event dict, once the destination made one
        self.state = "no event" if kind in ("identify", "group", "alias") else "pending"
        self.status = None
        self.tries = 0
        self.earlier = False    # queued in an earlier session of the app
        self.history = []       # (time, state, status)

    def row(self):
        """The fields of one row of the event log's RecycleView."""
        if self.kind == "purge":
            return {"number": self.number, "call_text": f"purge()  {self.name}", "statsig_text": self.detail,
                    "metadata_text": "Statsig keeps what it already received.",
                    "user_text": "", "delivery": "erased", "state_text": "erased"}
        if self.statsig is None:
            if self.state in NOT_SENT:
                statsig = NOT_SENT[self.state]
            elif self.kind == "identify":
                statsig = "No Statsig event: sets the user of later events"
            elif self.state == "pending":
                statsig = "Waiting for the Statsig destination…"
            else:
                statsig = "No Statsig event for a " + self.kind + " call"
            if self.kind in ("identify", "group"):
                metadata = "traits: " + self.detail
            else:  # a call the destination made nothing of says what it carried
                metadata = ("properties: " if self.state in NOT_SENT else "") + self.detail
            user = describe_consent(self.segment or {}) if self.state == "blocked" else ""
        else:
            statsig = self.statsig.get("eventName", "?")
            if "value" in self.statsig:
                statsig += f"   value {self.statsig['value']}"
            if self.kind == "exposure" and self.detail:
                statsig += "   " + self.detail
            meta = self.statsig.get("metadata") or {}
            metadata = "metadata: " + (_short(meta, 200) if meta else "(none)")
            user = "user: " + describe_user(self.statsig.get("user") or {})
        if self.earlier:
            statsig += "   (queued in an earlier session)"
        state = self.state + (f" {self.status}" if self.status is not None else "")
        if self.state == "retrying" and self.tries > 1:
            state += f" ×{self.tries}"
        return {"number": self.number, "call_text": f"{self.kind}  {self.name}", "statsig_text": statsig,
                "metadata_text": metadata, "user_text": user, "delivery": self.state, "state_text": state}

    def full(self):
        """What the row opens to: every field, as JSON texts."""
        if self.segment is not None:
            segment = _json(self.segment)
        elif self.kind == "exposure":
            segment = "No Segment call: a gate or experiment check logged this exposure."
        elif self.kind == "purge":
            segment = "Analytics.purge(): every undelivered event on this device erased."
        else:
            segment = "Not known: the call was made in an earlier session of the app."
        if self.statsig is None:
            statsig = self.row()["statsig_text"] + "." + (" " + NOT_SENT_WHY[self.state]
                                                          if self.state in NOT_SENT else "")
            user = "(none)"
        else:
            statsig = _json({k: v for k, v in self.statsig.items() if k != "user"})
            user = _json(self.statsig.get("user") or {})
        history = "\n".join(f"{_clock_text(t)}  {state}" + (f" {status}" if status is not None else "")
                             for t, state, status in self.history)
        return {"title": self.row()["call_text"], "segment": segment, "statsig": statsig, "user": user,
                "history": history or "(nothing yet)", "delivery": self.state, "state_text": self.row()["state_text"]}


class EventLog:
    def __init__(self, on_change=None, limit=500, clock=time.time):
        self.on_change = on_change   # called on a worker thread after each change
        self.limit = limit
        self.clock = clock
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._last = 0               # the newest entry's number
        self._seen = 0               # the newest number when the log was last seen
        self._entries = collections.deque(maxlen=limit)
        self._current = None         # the entry the timeline worker is processing
        self._waiting = {}           # statsig event key -> deque of entries
        self.counts = collections.Counter()

    def _new(self, kind, name, detail, segment=None, state=None):
        """A new entry (the lock held)."""
        self._last = next(self._numbers)
        entry = Entry(self._last, kind, name, detail, segment)
        entry.history.append((self.clock(), state or "called", None))
        if state:
            entry.state = state
        self._entries.append(entry)
        return entry

    # --- feeds ------------------------------------------------------------------
    def observe(self, event):
        kind, name, detail = describe_call(event)
        segment = _copy(event)
        with self._lock:
            self._current = self._new(kind, name, detail, segment)
        self._changed()

    def listener(self, state, events, status):
        if state in NOT_SENT or state == "purged":
            self._not_sent(state, events)
            return
        with self._lock:
            now = self.clock()
            for statsig_event in events:
                key = _key(statsig_event)
                exposure = statsig_event.get("eventName", "").startswith(EXPOSURE_PREFIX)
                if state == "queued" and exposure:  # from a check, not from the current call
                    entry = self._new(*describe_exposure(statsig_event), state="queued")
                    entry.statsig = dict(statsig_event)
                    self._waiting.setdefault(key, collections.deque()).append(entry)
                    continue
                if state == "queued":
                    entry = self._current
                    if entry is None or entry.statsig is not None or entry.state == "no event":
                        # e.g. a lifecycle event journaled before the observer was added
                        entry = self._new("?", statsig_event.get("eventName", ""), "")
                    entry.statsig = dict(statsig_event)
                    entry.state = "queued"
                    entry.history.append((now, "queued", None))
                    self._waiting.setdefault(key, collections.deque()).append(entry)
                    continue
                waiting = self._waiting.get(key)
                if waiting:
                    entry = waiting[0] if state == "retrying" else waiting.popleft()
                    if not waiting and state != "retrying":
                        del self._waiting[key]
                else:  # queued in an earlier session of the app, delivered now
                    if exposure:
                        kind, name, detail = describe_exposure(statsig_event)
                    else:
                        kind, _, name = statsig_event.get("eventName", "").partition(":")
                        kind, detail = kind.replace("segment_", "") or "?", ""
                    entry = self._new(kind, name, detail, state="in the queue from an earlier session")
                    entry.earlier = True
                    entry.statsig = dict(statsig_event)
                    if state == "retrying":
                        self._waiting.setdefault(key, collections.deque()).append(entry)
                entry.state = state
                entry.status = status
                entry.history.append((now, state, status))
                if state == "retrying":
                    entry.tries += 1
            self.counts[state] += len(events)
        self._changed()

    def _not_sent(self, state, segment_events):
        """blocked / filtered (the Segment events) or purged (none) from the destination."""
        with self._lock:
            now = self.clock()
            if state == "purged":
                erased = [entry for waiting in self._waiting.values() for entry in waiting]
                self._waiting.clear()
                for entry in erased:
                    entry.state, entry.status = "erased", None
                    entry.history.append((now, "erased", None))
                # (the journal's unprocessed calls are erased too: they never had a row)
                entry = self._new("purge", "erased on the device",
                                  f"{len(erased)} waiting row{'s' * (len(erased) != 1)} below: never sent",
                                  state="erased")
            for event in segment_events:
                entry = self._current
                if entry is None or entry.statsig is not None or entry.segment is None or \
                        entry.segment.get("messageId") != event.get("messageId"):
                    entry = self._new(*describe_call(event), segment=_copy(event))
                entry.state = state
                entry.history.append((now, state, None))
            self.counts[state] += len(segment_events) or 1
        self._changed()

    def _changed(self):
        if self.on_change is not None:
            self.on_change()

    # --- reading ----------------------------------------------------------------
    def rows(self):
        """Newest first."""
        with self._lock:
            return [entry.row() for entry in reversed(self._entries)]

    def detail(self, number):
        """Everything about the entry `number` (Entry.full), or None once it left the log."""
        with self._lock:
            for entry in self._entries:
                if entry.number == number:
                    return entry.full()
        return None

    def unseen(self):
        """How many entries arrived since mark_seen()."""
        with self._lock:
            return self._last - self._seen

    def mark_seen(self):
        with self._lock:
            self._seen = self._last


class EventObserver(Plugin):
    """Feeds the event log with every Segment event, just before the destinations."""

    type = PluginType.ENRICHMENT

    def __init__(self, log):
        self.log = log

    def execute(self, event):
        self.log.observe(event)
        return event
