"""8 threads calling at once, identify() and reset() interleaved with track(): the exact
count is delivered, no event twice, and each event carries the user of its moment.

"Its moment" is the event's place in call order: the calls are serialised by the
client, and a recorder plugin at the head of the timeline sees that order (it is
what the journal holds). Walking it with the identities the *test* passed in (a
trait ``who`` equal to the user id), the expected user of every track is known
independently of what the client stamped; the Statsig events must match it.

Default 8 x 10,000 events (about 8 s on 2 cores); ``--long``: 8 x 40,000."""
import collections
import threading
import time

from segment_statsig import EventPlugin, PluginType

THREADS = 8


class Recorder(EventPlugin):
    type = PluginType.BEFORE

    def __init__(self):
        super().__init__()
        self.seen = []

    def track(self, event):
        props = event["properties"]
        self.seen.append(("track", (props["t"], props["i"]), event.get("userId"), event["anonymousId"]))
        return event

    def identify(self, event):
        self.seen.append(("identify", event["traits"]["who"], event.get("userId"), event["anonymousId"]))
        return event

    def reset(self):
        self.seen.append(("reset", None, None, None))


def _caller(analytics, t, n, errors, start):
    try:
        start.wait()
        for i in range(n):
            if i % 97 == 13 + t:
                who = f"u{t}-{i}"
                analytics.identify(who, {"who": who})
            elif i % 389 == 7 * t:
                analytics.reset()
            analytics.track("Concurrent", {"t": t, "i": i})
    except BaseException as error:  # noqa: BLE001 - reported by the test
        errors.append(error)


def test_eight_threads_with_identify_and_reset_interleaved(make_client, fake_statsig, long_run):
    per_thread = 40_000 if long_run else 10_000
    analytics, destination = make_client(flush_at=100, dest_options={"max_queue_events": 200_000})
    recorder = analytics.add(Recorder())
    errors, start = [], threading.Event()
    threads = [threading.Thread(target=_caller, args=(analytics, t, per_thread, errors, start)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    start.set()
    for thread in threads:
        thread.join(120)
    called = time.perf_counter() - began
    assert not errors, errors[:3]
    total = THREADS * per_thread
    assert analytics.flush(timeout=120), destination.stats.snapshot()
    delivered_after = time.perf_counter() - began

    # Every call seen once, each thread's calls in the order it made them.
    tracks = [entry for entry in recorder.seen if entry[0] == "track"]
    assert len(tracks) == total
    for t in range(THREADS):
        assert [key[1] for _, key, _, _ in tracks if key[0] == t] == list(range(per_thread))

    # The user of each track's moment, from the identities the test itself passed in.
    expected, who, epoch, epoch_anonymous = {}, None, 0, {}
    for kind, key, user_id, anonymous_id in recorder.seen:
        if kind == "identify":
            who = key
            assert user_id == key
        elif kind == "reset":
            who, epoch = None, epoch + 1
        else:
            expected[key] = (who, epoch)
            assert user_id == who
            assert epoch_anonymous.setdefault(epoch, anonymous_id) == anonymous_id

    events = fake_statsig.events
    keys = [(int(e["metadata"]["t"]), int(e["metadata"]["i"])) for e in events]
    duplicates = [k for k, c in collections.Counter(keys).items() if c > 1]
    assert not duplicates, duplicates[:10]
    assert len(events) == total
    stable_of_epoch = {}
    wrong = []
    for key, event in zip(keys, events):
        who, epoch = expected[key]
        user = event["user"]
        if user.get("userID") != who or (user.get("custom") or {}).get("who") != who:
            wrong.append((key, who, user.get("userID"), user.get("custom")))
        stable = user["customIDs"]["stableID"]
        if stable_of_epoch.setdefault(epoch, stable) != stable or stable != epoch_anonymous[epoch]:
            wrong.append((key, "stableID", epoch, stable))
    assert not wrong, f"{len(wrong)} events with the wrong user, e.g. {wrong[:5]}"
    assert len(set(stable_of_epoch.values())) == len(stable_of_epoch)  # a new stableID after each reset
    resets = sum(1 for entry in recorder.seen if entry[0] == "reset")
    identifies = sum(1 for entry in recorder.seen if entry[0] == "identify")
    print(f"\nconcurrency: {THREADS} x {per_thread} = {total} events, {identifies} identify, {resets} reset; "
          f"calls took {called:.2f} s ({total / called:,.0f} calls/s), all delivered after {delivered_after:.2f} s; "
          f"{len(fake_statsig.event_requests)} requests, 0 lost, 0 duplicated, 0 with a wrong user")
