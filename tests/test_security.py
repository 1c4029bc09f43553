"""Security: a server secret key refused in device mode, plain http refused off
loopback, the keys absent from every log line, exception text, recording and repr,
private files, and reset() leaving no user data on disk."""
import gc
import json
import logging
import os
import re
import stat
from pathlib import Path

import pytest

from segment_statsig import Analytics, StatsigDestination
from segment_statsig.testing import FakeStatsig

API_KEY = "client-SeCrEtClientKey0123456789abcdef"
SERVER_SECRET = "secret-ServerSecret0123456789abcdef"
WRITE_KEY = "wk-SeCrEtWriteKey0123456789"


@pytest.mark.parametrize("where", ["argument", "settings", "cdn"])
def test_server_secret_key_refused_in_device_mode(tmp_path, fake_statsig, fake_segment_cdn, caplog, where):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")  # segment_statsig.kivy quiets it when imported
    if where == "argument":
        with pytest.raises(ValueError) as refused:
            StatsigDestination(SERVER_SECRET, api_url=fake_statsig.url)
        assert "client SDK key" in str(refused.value) and SERVER_SECRET not in str(refused.value)
        return
    settings = {"integrations": {"Statsig": {"apiKey": SERVER_SECRET}}}
    if where == "settings":
        analytics = Analytics(storage_dir=tmp_path, settings=settings, flush_interval=0.05)
    else:
        fake_segment_cdn.set_settings(WRITE_KEY, settings)
        analytics = Analytics(WRITE_KEY, storage_dir=tmp_path, cdn_url=fake_segment_cdn.url,
                              api_url=fake_segment_cdn.api_url, flush_interval=0.05)
    destination = analytics.add(StatsigDestination(api_url=fake_statsig.url))
    try:
        analytics.track("Must Not Go Out With A Secret")
        assert not analytics.flush(timeout=0.5)
        assert fake_statsig.event_requests == []  # nothing sent with the secret
        assert "server secret key" in caplog.text and SERVER_SECRET not in caplog.text
        assert destination.queue_depth == 1  # kept until a client key comes
    finally:
        analytics.shutdown(0.5)


def test_server_secret_allowed_only_when_opted_in(fake_statsig):
    destination = StatsigDestination(SERVER_SECRET, api_url=fake_statsig.url, allow_server_secret=True)
    assert destination.ready() and SERVER_SECRET not in repr(destination)


@pytest.mark.parametrize("url", [
    "http://example.com/v1", "http://events.statsigapi.net/v1", "http://127.0.0.1.nip.io/v1",
    "http://localhost.example.com/v1", "http://127.0.0.1@example.com/v1", "http://0.0.0.0:8080/v1",
    "http://10.0.0.2/v1", "HTTP://example.com/v1", "http:///v1", "file:///etc/passwd", "ws://127.0.0.1/v1", "",
])
def test_plain_http_off_loopback_and_other_schemes_refused(url):
    with pytest.raises(ValueError):
        StatsigDestination(API_KEY, api_url=url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/v1", "http://localhost:9/v1", "http://[::1]:9/v1",
                                 "http://127.8.9.10/v1", "https://events.statsigapi.net/v1"])
def test_loopback_http_and_https_accepted(url):
    StatsigDestination(API_KEY, api_url=url)


class EchoingStatsig(FakeStatsig):
    """A hostile or buggy server that repeats the request's key in its error replies."""

    def _refuse(self, record, status, error):
        key = self._api_key_from(record)
        return super()._refuse(record, status, f"{error}; you sent {key}")

    def _apply_fault(self, fault, request, record, process):
        if fault["kind"] == "status" and fault["status"] >= 400:
            key = self._api_key_from(record)
            record.status, record.fault = fault["status"], f"status {fault['status']}"
            self._finish(record)
            from segment_statsig.testing._server import json_response

            return json_response(fault["status"], {"error": f"bad key {key}", "key": key})
        return super()._apply_fault(fault, request, record, process)


def _texts_of_package_objects():
    """repr() and str() of every live object whose class comes from the package
    (the testing harness aside: a fake server holds the keys it accepts, by design)."""
    texts = []
    for obj in gc.get_objects():
        module = type(obj).__dict__.get("__module__") if isinstance(type(obj).__dict__.get("__module__"), str) \
            else getattr(type(obj), "__module__", "")
        if not isinstance(module, str):
            continue
        if module.startswith("segment_statsig") and not module.startswith("segment_statsig.testing"):
            texts.append(f"type {type(obj).__name__}")
            for show in (repr, str):
                try:
                    texts.append(show(obj))
                except Exception as error:  # noqa: BLE001 - a failing repr is a finding too
                    texts.append(f"{show.__name__} of {type(obj).__name__} failed: {error!r}")
    return texts


def test_keys_absent_from_logs_exceptions_reprs_and_recordings(tmp_path, fake_segment_cdn, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")  # segment_statsig.kivy quiets it when imported
    fake_segment_cdn.set_settings(WRITE_KEY, {"integrations": {"Statsig": {"apiKey": API_KEY}}})
    with EchoingStatsig(api_keys={"client-some-other-key"}) as statsig:
        statsig.respond_with_statuses([500, 429, 403], retry_after=0)
        analytics = Analytics(WRITE_KEY, storage_dir=tmp_path, cdn_url=fake_segment_cdn.url,
                              api_url=fake_segment_cdn.api_url, flush_interval=0.05)
        destination = analytics.add(StatsigDestination(api_url=statsig.url, retry_base=0.01, retry_max=0.05,
                                                       timeout=0.5))
        texts = []
        try:
            assert analytics._settings_ready.wait(5) and destination.ready()
            fake_segment_cdn.respond_with_statuses([500, 400])  # the cloud leg fails too
            for i in range(30):
                analytics.track("Secretive", {"i": i})
            analytics.flush(timeout=3)
            analytics.track("Refused Key")
            analytics.flush(timeout=3)
            # the fake refuses this key with 401 ("invalid API key; you sent client-..."): final
            assert any(r.status == 401 for r in statsig.event_requests)
            assert any(API_KEY in r.raw.decode() or API_KEY in json.dumps(r.as_dict()) for r in statsig.event_requests)
            statsig.stop()  # then connection refused: the network error text too
            analytics.track("After")
            analytics.flush(timeout=0.5)
            texts += _texts_of_package_objects()
            texts += [json.dumps(destination.stats.snapshot()), repr(destination.stats)]
            for plugin in analytics._all_plugins():
                texts.append(json.dumps(getattr(plugin, "stats", None) and plugin.stats.snapshot()))
        finally:
            analytics.shutdown(1)
    for record in caplog.records:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        # Every logger's, urllib3's DEBUG lines included (each names its URL, and the
        # settings URL holds the write key).
        texts.append(text)
    for bad in ("", "secret-x", 7, None):
        try:
            StatsigDestination(bad, api_url="http://127.0.0.1:9/v1")
        except (ValueError, TypeError) as error:
            texts += [str(error), repr(error)]
    assert "HTTP 401" in caplog.text and "HTTP 403" in caplog.text  # the errors were logged...
    assert len(texts) > 50
    for kind in ("Analytics", "StatsigDestination", "SegmentDestination", "StatsigTransport", "HttpSender",
                 "Delivery", "SqliteQueue", "Journal", "Identity"):
        assert f"type {kind}" in texts, kind  # the objects that hold or handle the keys were searched
    leaks = [t for t in texts if API_KEY in t or WRITE_KEY in t]
    assert not leaks, leaks[:3]  # ...without the keys


def test_recordings_hold_no_key():
    root = Path(__file__).resolve().parent.parent / "recordings"
    files = sorted(root.glob("*.json"))
    assert files
    key_like = re.compile(r"(client|secret)-[0-9a-zA-Z]{16,}|wk[0-9a-f]{32}")
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not key_like.search(text), (path.name, key_like.search(text).group())


def test_a_fresh_recording_is_scrubbed(tmp_path):
    from segment_statsig.testing import adapters, runner
    from segment_statsig.testing.recording import dumps_case

    case = runner.load_case(Path(__file__).resolve().parent.parent / "recordings" / "retry_after_503.json")
    result = runner.run_case(case, adapters.ours)
    assert not result.errors, result.errors
    text = dumps_case(result.expected_block())
    assert "<API_KEY>" in text
    assert not re.search(r"client-[0-9a-f]{32}", text)


def _files(store):
    return [p for p in Path(store).rglob("*")]


def test_every_file_and_folder_is_private_whatever_the_umask(tmp_path, fake_statsig, fake_segment_cdn):
    fake_segment_cdn.set_settings(WRITE_KEY, {"integrations": {"Statsig": {"apiKey": API_KEY}}})
    old = os.umask(0)
    try:
        store = tmp_path / "deep" / "store"
        analytics = Analytics(WRITE_KEY, storage_dir=store, cdn_url=fake_segment_cdn.url,
                              api_url=fake_segment_cdn.api_url, flush_interval=0.05,
                              track_lifecycle_events=True, app_info={"version": "1.0"})
        analytics.add(StatsigDestination(api_url=fake_statsig.url))
        analytics.identify("u-1", {"email": "a@b.co"})
        fake_statsig.set_offline(True)  # keep rows in the queues (and their -wal/-shm files)
        for i in range(10):
            analytics.track("Private", {"i": i})
        analytics.flush(timeout=1)
        files = _files(store)
        names = {p.name for p in files}
        assert {"journal", "journal.pos", "user.json", "statsig-queue.sqlite3"} <= names, names
        for path in files + [store]:
            mode = stat.S_IMODE(path.stat().st_mode)
            private = 0o700 if path.is_dir() else 0o600
            assert mode & ~private == 0, (str(path.relative_to(tmp_path)), oct(mode))
        fake_statsig.set_offline(False)
        analytics.shutdown(2)
    finally:
        os.umask(old)


@pytest.mark.parametrize("mode", [0o755, 0o777, 0o750])
def test_an_existing_folder_with_wider_modes_is_made_private(tmp_path, fake_statsig, mode):
    """Kivy makes user_data_dir 0755 before the app runs; the storage folder (a subfolder
    of it, or the folder itself) is the library's alone once an Analytics opens it."""
    store = tmp_path / "user_data_dir" / "segment-statsig"
    store.mkdir(parents=True)
    os.chmod(store, mode)
    (store / "from-an-earlier-run").write_text("")
    analytics = Analytics(storage_dir=store, settings={"integrations": {"Statsig": {"apiKey": API_KEY}}},
                          flush_interval=0.05)
    try:
        analytics.add(StatsigDestination(api_url=fake_statsig.url))
        assert stat.S_IMODE(store.stat().st_mode) == 0o700
        analytics.track("Private")
        assert analytics.flush(timeout=10)
    finally:
        analytics.shutdown(2)
    assert stat.S_IMODE(store.stat().st_mode) == 0o700


@pytest.mark.parametrize("when", ["delivered before reset", "still queued at reset"])
def test_reset_leaves_no_user_data_on_disk(tmp_path, fake_statsig, fake_segment_cdn, when):
    """Events made before reset() keep their user until delivered; after that, no trace
    of the user is left in any file (queue files, their WAL, journal, identity)."""
    user_id, email, secret_trait = "user-4242-private", "ada.private@example.com", "very-private-trait-value"
    store = tmp_path / "store"
    fake_segment_cdn.set_settings(WRITE_KEY, {"integrations": {"Statsig": {"apiKey": API_KEY}}})
    analytics = Analytics(WRITE_KEY, storage_dir=store, cdn_url=fake_segment_cdn.url,
                          api_url=fake_segment_cdn.api_url, flush_interval=0.05)
    analytics.add(StatsigDestination(api_url=fake_statsig.url, retry_base=0.02, retry_max=0.1))
    try:
        analytics.identify(user_id, {"email": email, "note": secret_trait})
        if when == "still queued at reset":
            fake_statsig.set_offline(True)
        for i in range(200):
            analytics.track("Identified", {"i": i})
        analytics.flush(timeout=10 if when == "delivered before reset" else 0.3)
        analytics.reset()
        fake_statsig.set_offline(False)
        analytics.track("Anonymous Again")
        assert analytics.flush(timeout=10)
        assert fake_statsig.events[-2]["user"]["userID"] == user_id
        assert "userID" not in fake_statsig.events[-1]["user"]
        found = []
        for path in _files(store):
            if path.is_file():
                data = path.read_bytes()
                found += [(path.name, s) for s in (user_id, email, secret_trait) if s.encode() in data]
        assert not found, found
    finally:
        analytics.shutdown(2)
