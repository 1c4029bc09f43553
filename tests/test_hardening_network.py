"""Hostile and odd servers, on loopback: replies that decompress to hundreds of MB,
replies that trickle in a byte at a time, an API that echoes the write key, proxies
from the environment, and an endpoint that is not there (404)."""
import gzip
import json
import logging
import re
import socket
import threading
import time
import tracemalloc
import zlib

import pytest

from segment_statsig import Analytics, SegmentDestination, StatsigDestination
from segment_statsig.analytics.settings import SettingsLoader
from segment_statsig.statsig.transport import StatsigTransport

KEY = "client-net-key-0123456789"
WRITE_KEY = "wk-NetWriteKey0123456789abc"


class Server:
    """A loopback HTTP server, a thread per connection: reads each request (head and
    Content-Length body) and lets `answer(server, conn, head, body)` write the reply
    (raw bytes, as slowly as it likes). Records the heads, the event names of the
    requests it answered 2xx to, and how long each connection lasted."""

    def __init__(self, answer, tls=None):
        self.answer = answer
        self.tls = tls  # an ssl.SSLContext: HTTPS
        self.heads, self.events, self.durations, self.trickled = [], [], [], []
        self.trickling = {}  # requests being trickled: when each started
        self.connections = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        started = time.monotonic()
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except OSError:
                conn.close()
                return
        with conn:
            conn.settimeout(30)
            data = b""
            try:
                while True:
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            return
                        data += chunk
                    head, _, data = data.partition(b"\r\n\r\n")
                    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
                    need = int(length.group(1)) if length else 0
                    while len(data) < need:
                        chunk = conn.recv(65536)
                        if not chunk:
                            return
                        data += chunk
                    body, data = data[:need], data[need:]
                    with self.lock:
                        self.heads.append(head.decode("latin-1"))
                    if self.answer(self, conn, head.decode("latin-1"), body) == "close":
                        return
            except OSError:
                return
            finally:
                with self.lock:
                    self.durations.append(time.monotonic() - started)

    def record_events(self, head, body):
        if "content-encoding: gzip" in head.lower():
            body = gzip.decompress(body)
        payload = json.loads(body)
        names = [e.get("eventName") or e.get("event") for e in payload.get("events") or payload.get("batch") or []]
        with self.lock:
            self.events.extend(names)

    def wait(self, condition, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.02)
        return condition()

    def close(self):
        self.sock.close()


def reply(status, body=b'{"success":true}', headers=()):
    head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Content-Type: application/json", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def ok(server, conn, head, body):
    server.record_events(head, body)
    conn.sendall(reply(202))


# --- 1. reply bombs ------------------------------------------------------------------------
BOMB_MB = 256


@pytest.fixture(scope="module")
def bomb():
    """256 MiB of JSON-ish text gzipped: about 256 KiB on the wire."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(b'{"success":true,"pad":"')]
    block = b" " * (1024 * 1024)
    for _ in range(BOMB_MB):
        parts.append(compressor.compress(block))
    parts.append(compressor.compress(b'"}') + compressor.flush())
    return b"".join(parts)


def bomb_server(bomb, status=202):
    def answer(server, conn, head, body):
        conn.sendall(reply(status, bomb, ["Content-Encoding: gzip"]))
    return Server(answer)


def peak_memory(call):
    """(what call() returned, the peak of Python's allocations while it ran, in MB)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = call()
        return result, tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def _log_event(url):
    transport = StatsigTransport(url + "/v1/initialize", url + "/v1/log_event", timeout=10)
    try:
        return transport.send_events(KEY, ['{"eventName":"e"}'], "{}")
    finally:
        transport.close()


def _initialize(url):
    transport = StatsigTransport(url + "/v1/initialize", url + "/v1/log_event", timeout=10)
    try:
        return transport.initialize(KEY, {"userID": "u"}, {})
    finally:
        transport.close()


def _segment_batch(url):
    destination = SegmentDestination(WRITE_KEY, api_url=url, timeout=10)
    try:
        return destination.send(['{"type":"track","event":"e"}'])
    finally:
        destination.http.close()


def _cdn_settings(url):
    return SettingsLoader(WRITE_KEY, url, None, timeout=10).fetch()


@pytest.mark.parametrize("endpoint", [_log_event, _initialize, _segment_batch, _cdn_settings],
                         ids=["log_event", "initialize", "segment_batch", "cdn_settings"])
def test_a_gzip_bomb_reply_is_refused_within_its_limit_at_every_endpoint(bomb, endpoint, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")  # segment_statsig.kivy quiets it when imported
    server = bomb_server(bomb, status=200 if endpoint is _cdn_settings else 202)
    try:
        result, peak = peak_memory(lambda: endpoint(server.url))
    finally:
        server.close()
    assert len(server.heads) == 1
    assert peak < 40, f"{peak:.0f} MB for a {len(bomb) // 1024} KiB reply"  # the largest limit is 8 MiB
    if endpoint is _cdn_settings:
        assert result is None and "cannot reach Segment's CDN (ReplyTooLarge)" in caplog.text
    else:  # the endpoint's error: a network error, retried (never taken as delivered)
        assert result.status is None and result.reply.startswith("ReplyTooLarge"), result.reply


def test_a_bomb_from_log_event_keeps_the_events_until_a_real_reply_takes_them(tmp_path, bomb):
    state = {"bomb": True}

    def answer(server, conn, head, body):
        if state["bomb"]:
            conn.sendall(reply(202, bomb, ["Content-Encoding: gzip"]))
        else:
            ok(server, conn, head, body)

    server = Server(answer)
    analytics = Analytics(storage_dir=tmp_path, settings={"integrations": {"Statsig": {"apiKey": KEY}}},
                          flush_interval=0.05)
    destination = analytics.add(StatsigDestination(api_url=server.url + "/v1", retry_base=0.02, retry_max=0.1))
    try:
        for i in range(5):
            analytics.track(f"E{i}")
        assert server.wait(lambda: len(server.heads) >= 2, 10)  # refused, retried
        assert destination.stats.snapshot()["sent"] == 0 and destination.queue_depth == 5
        assert "ReplyTooLarge" in destination.stats.snapshot()["last_error"]
        state["bomb"] = False
        assert analytics.flush(timeout=10)
        assert server.events == [f"segment_track:E{i}" for i in range(5)]
    finally:
        analytics.shutdown(2)
        server.close()


def test_a_reply_a_little_over_the_limit_is_refused_and_one_within_it_read_whole():
    from segment_statsig.delivery.http import HttpSender

    sizes = {"n": 0}

    def answer(server, conn, head, body):
        text = b'"' + b"x" * (sizes["n"] - 2) + b'"'
        conn.sendall(reply(202, gzip.compress(text), ["Content-Encoding: gzip"]))

    server = Server(answer)
    sender = HttpSender(server.url + "/x", 5, json_reply=True, reply_limit=None, max_reply_bytes=100_000)
    try:
        sizes["n"] = 100_000
        assert sender.post(b"{}", {}).status == 202
        sizes["n"] = 100_001
        assert sender.post(b"{}", {}).reply.startswith("ReplyTooLarge")
        sizes["n"] = 10
        assert sender.post(b"{}", {}).status == 202  # the connection after a refused reply is a new one
    finally:
        sender.close()
        server.close()


# --- 2. a trickling server -----------------------------------------------------------------
def trickle(server, conn, head, body):
    """The status line and head at once, then the body a byte every 0.3 s."""
    started = time.monotonic()
    token = object()
    with server.lock:
        server.trickling[token] = started
    try:
        conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(200):  # 60 s at most
            time.sleep(0.3)
            conn.sendall(b" ")
    except OSError:  # the client hung up (seen at the second byte after it did, at most)
        with server.lock:
            server.trickled.append(time.monotonic() - started)
    finally:
        with server.lock:
            del server.trickling[token]
    return "close"


def run_trickle_case(folder, segment, seconds=None):
    """Statsig (timeout 1 s) answers a first batch at once, so the timeline sends the next
    full batch itself, then trickles every reply; the cloud leg's fake answers at once.
    120 events in all. Returns (analytics, Statsig destination, Statsig server, seconds
    the cloud leg took to get all 120, None if it did not within `seconds` or 12 s)."""
    segment.set_settings(WRITE_KEY, {"integrations": {"Statsig": {"apiKey": KEY}}})
    state = {"answer": ok}
    statsig = Server(lambda *args: state["answer"](*args))
    statsig.state = state
    analytics = Analytics(WRITE_KEY, storage_dir=folder, cdn_url=segment.url, api_url=segment.api_url,
                          flush_at=10, flush_interval=0.2)
    destination = analytics.add(StatsigDestination(api_url=statsig.url + "/v1", timeout=1, retry_base=0.2,
                                                   retry_max=0.5))
    assert analytics._settings_ready.wait(5)

    def cloud_ticks():
        return sum(e["event"] == "Tick" for e in segment.cloud_events)

    for i in range(10):
        analytics.track("Tick", {"i": i})
    assert statsig.wait(lambda: len(statsig.events) == 10 and cloud_ticks() == 10, 10)
    time.sleep(0.3)  # past the pace: the next full batch is due at once
    state["answer"] = trickle
    started = time.monotonic()
    for i in range(10, 120):
        analytics.track("Tick", {"i": i})
        time.sleep(0.01)
    statsig.wait(lambda: cloud_ticks() == 120, seconds or 12)
    cloud_time = time.monotonic() - started if cloud_ticks() == 120 else None
    return analytics, destination, statsig, cloud_time


def test_a_trickling_statsig_has_a_deadline_and_never_holds_the_cloud_leg(tmp_path, fake_segment_cdn):
    analytics, destination, statsig, cloud_time = run_trickle_case(tmp_path, fake_segment_cdn)
    try:
        # The cloud leg gets everything while Statsig trickles.
        assert cloud_time is not None and cloud_time < 6, (cloud_time, len(fake_segment_cdn.cloud_events))
        assert statsig.wait(lambda: len(statsig.trickled) >= 2, 10)
        # Every trickled request ended at its deadline (1 s), not when the server stopped.
        assert max(statsig.trickled) < 2.5, statsig.trickled  # 1 s, and up to 0.6 s to see the hang-up
        assert destination.stats.snapshot()["dropped"] == 0
        assert "TimeoutError: no complete reply within 1 s" in destination.stats.snapshot()["last_error"]
        # Nothing lost: once Statsig answers, all 120 arrive (the trickled ones never did).
        statsig.state["answer"] = ok
        destination.retry_now()
        assert analytics.flush(timeout=15)
        assert sorted(statsig.events) == ["segment_track:Tick"] * 120 and destination.queue_depth == 0
    finally:
        analytics.shutdown(2)
        statsig.close()


def test_a_slow_statsig_with_a_backlog_holds_the_timeline_for_one_request_at_most(tmp_path, fake_segment_cdn):
    """Statsig answers every request, but 1.5 s late: the timeline, draining a backlog of
    three batches itself, stops after the first slow one (the rest is Statsig's own
    thread's), so the cloud leg's next events do not wait for all three."""
    fake_segment_cdn.set_settings(WRITE_KEY, {"integrations": {"Statsig": {"apiKey": KEY}}})
    state = {"delay": 0.0}

    def answer(server, conn, head, body):
        time.sleep(state["delay"])
        ok(server, conn, head, body)

    statsig = Server(answer)
    analytics = Analytics(WRITE_KEY, storage_dir=tmp_path, cdn_url=fake_segment_cdn.url,
                          api_url=fake_segment_cdn.api_url, flush_at=10, flush_interval=0.2)
    destination = analytics.add(StatsigDestination(api_url=statsig.url + "/v1", timeout=5, max_batch_size=10,
                                                   max_burst_batch_size=10))
    try:
        assert analytics._settings_ready.wait(5)

        def cloud(name):
            return sum(e["event"] == name for e in fake_segment_cdn.cloud_events)

        for i in range(10):
            analytics.track("First")
        assert statsig.wait(lambda: len(statsig.events) == 10 and cloud("First") == 10, 10)
        time.sleep(0.3)  # past the pace
        state["delay"] = 1.5
        for i in range(30):  # three Statsig batches: the timeline sends them itself
            analytics.track("Backlog")
        assert statsig.wait(lambda: cloud("Backlog") == 30, 5)
        started = time.monotonic()
        for i in range(10):
            analytics.track("Next")
        assert statsig.wait(lambda: cloud("Next") == 10, 10)
        waited = time.monotonic() - started
        assert waited < 2.5, waited  # one slow request of the timeline's at most (1.5 s), not three (4.5 s)
        assert analytics.flush(timeout=15)
        assert sorted(statsig.events) == sorted(["segment_track:First"] * 10 + ["segment_track:Backlog"] * 30
                                                + ["segment_track:Next"] * 10)
        assert destination.stats.snapshot()["dropped"] == 0
    finally:
        analytics.shutdown(2)
        statsig.close()


def test_a_reply_whose_head_trickles_ends_at_the_deadline_too():
    from segment_statsig.delivery.http import HttpSender

    def answer(server, conn, head, body):
        for byte in b"HTTP/1.1 202 Accepted\r\nX-Slow: " + b"y" * 300:
            conn.sendall(bytes([byte]))
            time.sleep(0.1)
        return "close"

    server = Server(answer)
    started = time.monotonic()
    result = HttpSender(server.url + "/x", 0.8).post(b"{}", {})
    elapsed = time.monotonic() - started
    server.close()
    assert result.status is None and result.reply.startswith("TimeoutError"), result.reply
    assert 0.7 < elapsed < 2.0, elapsed


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """(server SSLContext, CA bundle path): a self-signed certificate for 127.0.0.1."""
    import ssl
    import subprocess

    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, str(cert)


def test_over_tls_a_reply_is_read_decoded_and_held_to_its_deadline_and_limit(tls, monkeypatch, bomb):
    from segment_statsig.delivery.http import HttpSender

    context, bundle = tls
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", bundle)
    state = {"answer": "gzip"}

    def answer(server, conn, head, body):
        if state["answer"] == "gzip":
            conn.sendall(reply(202, gzip.compress(b'{"success":true}'), ["Content-Encoding: gzip"]))
        elif state["answer"] == "bomb":
            conn.sendall(reply(202, bomb, ["Content-Encoding: gzip"]))
        else:
            return trickle(server, conn, head, body)

    server = Server(answer, tls=context)
    sender = HttpSender(server.url + "/v1/log_event", 0.8, json_reply=True)
    try:
        for _ in range(3):  # kept alive between them
            result = sender.post(b"{}", {})
            assert (result.status, json.loads(result.reply)) == (202, {"success": True}), result.reply
        state["answer"] = "bomb"
        result, peak = peak_memory(lambda: sender.post(b"{}", {}))
        assert result.reply.startswith("ReplyTooLarge") and peak < 5, (result.reply, peak)
        state["answer"] = "trickle"
        started = time.monotonic()
        result = sender.post(b"{}", {})
        assert result.reply.startswith("TimeoutError") and time.monotonic() - started < 1.5, result.reply
    finally:
        sender.close()
        server.close()


# --- 12. the write key echoed by Segment's API ---------------------------------------------
def test_a_write_key_echoed_by_segment_is_in_no_log_record_and_not_in_last_error(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, urllib3's included
    caplog.set_level(logging.DEBUG, logger="urllib3")  # segment_statsig.kivy quiets it when imported

    def answer(server, conn, head, body):
        if head.startswith("GET "):
            settings = json.dumps({"integrations": {"Segment.io": {"apiKey": WRITE_KEY}}}).encode()
            conn.sendall(reply(200, settings))
        else:
            conn.sendall(reply(400, json.dumps({"success": False, "error": f"invalid write key {WRITE_KEY}",
                                                "code": "invalid_request"}).encode()))

    segment = Server(answer)
    analytics = Analytics(WRITE_KEY, storage_dir=tmp_path, cdn_url=segment.url, api_url=segment.url,
                          flush_interval=0.05)
    try:
        assert analytics._settings_ready.wait(5)
        cloud = [d for d in analytics.destinations() if isinstance(d, SegmentDestination)][0]
        analytics.track("Echo")
        assert segment.wait(lambda: cloud.stats.snapshot()["dropped"] == 1, 10)
        last_error = cloud.stats.snapshot()["last_error"]
    finally:
        analytics.shutdown(2)
        segment.close()
    assert any(f"/v1/projects/{WRITE_KEY}/settings" in h for h in segment.heads)  # the key went where it must
    assert "HTTP 400" in last_error and "invalid write key <API_KEY>" in last_error and WRITE_KEY not in last_error
    assert any(r.name.startswith("urllib3") for r in caplog.records)  # urllib3's DEBUG lines were captured
    leaks = [f"{r.name}: {r.getMessage()}" for r in caplog.records if WRITE_KEY in r.getMessage()]
    assert not leaks, leaks


# --- 13. proxies from the environment ------------------------------------------------------
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def test_loopback_requests_never_go_through_an_environment_proxy(tmp_path, monkeypatch, fake_statsig,
                                                                fake_segment_cdn):
    proxy = Server(lambda server, conn, head, body: conn.sendall(reply(502, b"{}")))
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, proxy.url)
    fake_segment_cdn.set_settings(WRITE_KEY, {"integrations": {"Statsig": {"apiKey": KEY}}})
    fake_statsig.set_gate("new_checkout", True)
    analytics = Analytics(WRITE_KEY, storage_dir=tmp_path, cdn_url=fake_segment_cdn.url,
                          api_url=fake_segment_cdn.api_url, flush_interval=0.05)
    destination = analytics.add(StatsigDestination(api_url=fake_statsig.url))
    try:
        assert analytics._settings_ready.wait(5)
        analytics.track("Through No Proxy")
        destination.prefetch_values()
        assert destination.wait_for_values(5)
        assert destination.check_gate("new_checkout")
        assert analytics.flush(timeout=10)
        assert fake_statsig.wait_for_events(1) and fake_segment_cdn.wait_for_batches(1)
        assert fake_segment_cdn.settings_requests and fake_statsig.initialize_requests
    finally:
        analytics.shutdown(2)
        proxy.close()
    assert proxy.connections == 0, proxy.heads


def test_is_loopback_knows_this_machine_only():
    from segment_statsig.delivery.urls import is_loopback

    for url in ("http://127.0.0.1:9/v1", "http://127.8.9.10/v1", "http://[::1]:9/v1", "http://localhost/v1",
                "http://LOCALHOST:1/x"):
        assert is_loopback(url), url
    for url in ("https://events.statsigapi.net/v1", "http://10.0.0.1/v1", "https://localhost.example.com/v1",
                "http://[::2]/v1", "https://127.0.0.1.nip.io/v1"):
        assert not is_loopback(url), url


# --- issue: a wrong URL (404 / 405) -----------------------------------------------------------
def test_an_api_url_without_v1_keeps_the_events_and_names_the_url(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="segment_statsig")

    def answer(server, conn, head, body):  # Statsig's routes start with /v1
        if head.startswith("POST /v1/log_event "):
            ok(server, conn, head, body)
        else:
            conn.sendall(reply(404, b'{"error":"not found"}'))

    statsig = Server(answer)
    analytics = Analytics(storage_dir=tmp_path, settings={"integrations": {"Statsig": {"apiKey": KEY}}},
                          flush_interval=0.05)
    destination = analytics.add(StatsigDestination(api_url=statsig.url, retry_base=0.02, retry_max=0.2))
    try:
        for i in range(3):
            analytics.track(f"Kept {i}")
        assert statsig.wait(lambda: len(statsig.heads) >= 2, 10)  # refused, then tried again
        assert all(h.startswith("POST /log_event ") for h in statsig.heads)
        stats = destination.stats.snapshot()
        assert stats["dropped"] == 0 and stats["sent"] == 0 and destination.queue_depth == 3
        errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
        assert any(f"HTTP 404 from {statsig.url}/log_event" in e and "3 events kept" in e for e in errors), errors
        assert f"{statsig.url}/log_event" in stats["last_error"]
        assert KEY not in caplog.text and KEY not in stats["last_error"]
    finally:
        analytics.shutdown(2)
        statsig.close()


@pytest.mark.parametrize("status", [404, 405])
def test_a_404_or_405_keeps_the_events_until_the_server_answers_202(make_client, fake_statsig, caplog, status):
    caplog.set_level(logging.DEBUG, logger="segment_statsig")
    fake_statsig.respond_with_statuses([status, status])
    analytics, destination = make_client(flush_at=5)
    for i in range(5):
        analytics.track(f"E{i}")
    assert analytics.flush(timeout=10)
    assert [r.status for r in fake_statsig.event_requests] == [status, status, 202]
    assert [e["eventName"] for e in fake_statsig.events] == [f"segment_track:E{i}" for i in range(5)]
    stats = destination.stats.snapshot()
    assert stats["sent"] == 5 and stats["dropped"] == 0 and stats["retried"] == 2
    assert f"HTTP {status} from {fake_statsig.url}/log_event" in caplog.text and KEY not in caplog.text


def test_the_wrong_url_backoff_is_long(make_client):
    from segment_statsig.delivery import policy

    waits = [policy.long_backoff_delay(60.0) for _ in range(1000)]
    assert 30.0 <= min(waits) and max(waits) <= 60.0
    assert policy.wrong_url(404) and policy.wrong_url(405) and not policy.wrong_url(400)


# --- found with the trickle case: a part batch no timer sent ----------------------------------
def test_a_part_batch_a_full_batch_pass_stored_goes_out_on_the_batch_timer(make_client, fake_statsig):
    """The timeline counts calls only roughly (a call journaled just before a pass takes
    its lines may be counted for the next batch), so a pass a full batch started can take
    fewer than flush_at lines. What it stored must still go out when the batch timer runs
    out, not wait for the next call."""
    analytics, destination = make_client(flush_at=10, flush_interval=0.2)
    for i in range(4):
        analytics.track(f"Part {i}")
    worker = analytics.worker
    worker.calls = worker.threshold  # as the rough count can stand after a race: a "full" batch of 4 lines
    worker.wake.set()
    assert fake_statsig.wait_for_events(4, timeout=3), (len(fake_statsig.events), destination.queue_depth)
