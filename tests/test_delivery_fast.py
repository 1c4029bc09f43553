"""The delivery worker's lean paths: HttpSender posting straight through the urllib3
pool that requests set up, the network stack set up first thing on the delivery
thread, and SqliteQueue.remove as one DELETE that keeps count and bytes right."""
import gzip
import json
import random
import re
import socket
import threading
import time

import pytest

from segment_statsig import Analytics, SegmentDestination
from segment_statsig.delivery.http import SendResult
from segment_statsig.delivery.http import HttpSender
from segment_statsig.storage.memory_queue import MemoryQueue
from segment_statsig.storage.queue import SqliteQueue
from segment_statsig.delivery.queued_destination import QueuedDestination


# --- HttpSender ---------------------------------------------------------------------------
def test_post_sends_gzip_with_the_headers_requests_would_send(httpserver):
    httpserver.expect_request("/v1/log_event", method="POST").respond_with_json({"success": True}, status=202)
    sender = HttpSender(httpserver.url_for("/v1/log_event"), 5, json_reply=True)
    result = sender.post(b'{"events":[]}', {"Content-Type": "application/json", "STATSIG-API-KEY": "client-k"})
    assert (result.status, result.retry_after, json.loads(result.reply)) == (202, None, {"success": True})
    request, _ = httpserver.log[-1]
    assert gzip.decompress(request.get_data()) == b'{"events":[]}'
    assert request.headers["Content-Encoding"] == "gzip"
    assert int(request.headers["Content-Length"]) == len(request.get_data())
    assert request.headers["STATSIG-API-KEY"] == "client-k"
    assert request.headers["User-Agent"].startswith("python-requests/")  # requests' defaults, as before
    sender.close()


def test_status_retry_after_and_reply_cut_decoded_and_scrubbed(httpserver):
    secret = "client-the-secret-key"
    body = f"bad key {secret} ".encode() + b"\xff" + "é".encode() * 400
    httpserver.expect_request("/x", method="POST").respond_with_data(body, status=503, headers={"Retry-After": "7"})
    result = HttpSender(httpserver.url_for("/x"), 5, use_gzip=False).post(b"{}", {}, secret=secret)
    assert (result.status, result.retry_after) == (503, 7.0)
    assert result.reply.startswith("bad key <API_KEY> \ufffdé") and secret not in result.reply
    assert len(result.reply) == 300 - len(secret) + len("<API_KEY>")  # cut to 300, then scrubbed


@pytest.mark.parametrize("json_reply", [True, False])
def test_a_2xx_that_is_not_json_is_a_network_failure_only_for_a_json_api(httpserver, json_reply):
    httpserver.expect_request("/x", method="POST").respond_with_data("<html>Sign in to the Wi-Fi</html>")
    result = HttpSender(httpserver.url_for("/x"), 5, json_reply=json_reply).post(b"{}", {})
    if json_reply:
        assert result.status is None and "not JSON" in result.reply and "Wi-Fi" in result.reply
    else:
        assert result.status == 200 and "Wi-Fi" in result.reply


class RawServer:
    """A loopback server, one connection at a time: records each request's head and
    answers `reply` (raw bytes), or says nothing until the client hangs up."""

    def __init__(self, reply=None):
        self.reply = reply
        self.heads = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
                while length and len(body) < int(length.group(1)):
                    body += conn.recv(65536)
                self.heads.append(head.decode("latin-1"))
                if self.reply is None:
                    while conn.recv(65536):
                        pass
                else:
                    conn.sendall(self.reply)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()


def test_network_errors_become_results_named_by_their_type():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens there once closed
    refused = HttpSender(f"http://127.0.0.1:{port}/x", 2).post(b"{}", {})
    assert refused.status is None and refused.retry_after is None
    assert re.match(r"\w*ConnectionError: ", refused.reply) and "refused" in refused.reply
    with RawServer(reply=None) as silent:
        started = time.monotonic()
        slow = HttpSender(f"http://127.0.0.1:{silent.port}/x", 0.3).post(b"{}", {})
        assert slow.status is None and "Timeout" in slow.reply.split(":")[0]
        assert time.monotonic() - started < 2


def test_through_a_plain_http_proxy_the_full_url_goes_to_the_proxy(monkeypatch):
    reply = b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}'
    with RawServer(reply) as proxy:
        for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("http_proxy", f"http://user:pw@127.0.0.1:{proxy.port}")
        sender = HttpSender("http://api.segment.invalid/v1/batch", 5, use_gzip=False)
        result = sender.post(b"{}", {"Content-Type": "application/json"})
        assert result.status == 200, result.reply
        (head,) = proxy.heads
        assert head.startswith("POST http://api.segment.invalid/v1/batch HTTP/1.1\r\n")
        assert "Proxy-Authorization: Basic dXNlcjpwdw==" in head  # base64("user:pw")
        sender.close()


def test_prepare_is_idempotent_and_a_post_after_close_sets_up_again(httpserver):
    httpserver.expect_request("/x", method="POST").respond_with_json({"success": True})
    sender = HttpSender(httpserver.url_for("/x"), 5)
    sender.prepare()
    pool = sender.connection
    sender.prepare()
    assert sender.connection is pool and sender.session is not None
    assert sender.post(b"{}", {}).status == 200
    sender.close()
    assert sender.session is None and sender.connection is None
    sender.close()  # twice is fine
    assert sender.post(b"{}", {}).status == 200
    assert sender.connection is not pool
    sender.close()


def test_prepare_never_raises_and_leaves_the_failure_to_the_post(monkeypatch):
    sender = HttpSender("http://127.0.0.1:9/x", 1)

    def broken():
        raise ImportError("no requests here")

    monkeypatch.setattr(sender, "_connect", broken)
    sender.prepare()
    assert sender.post(b"{}", {}).reply == "ImportError: no requests here"


# --- the network stack is set up on the delivery thread, before the first send -------------
class Recorder(QueuedDestination):
    key = "Recorder"

    def __init__(self, prepare_fails):
        super().__init__()
        self.prepare_fails = prepare_fails
        self.calls = []

    def prepare(self):
        self.calls.append(("prepare", threading.current_thread().name))
        if self.prepare_fails:
            raise RuntimeError("no network stack")

    def send(self, texts):
        self.calls.append(("send", threading.current_thread().name))
        return SendResult(200)

    def track(self, event):
        self.enqueue(event)
        return event


@pytest.mark.parametrize("prepare_fails", [False, True])
def test_prepare_runs_once_first_on_the_delivery_thread(tmp_path, prepare_fails, caplog):
    caplog.set_level("DEBUG", logger="segment_statsig")
    analytics = Analytics(storage_dir=tmp_path, settings={"integrations": {}}, flush_interval=0.05)
    try:
        destination = analytics.add(Recorder(prepare_fails))
        analytics.track("One")
        assert analytics.flush(timeout=5)
        analytics.track("Two")
        assert analytics.flush(timeout=5)
    finally:
        analytics.shutdown(2)
    worker = "segment-statsig-recorder"
    assert destination.calls[0] == ("prepare", worker)
    assert destination.calls[1:] and set(destination.calls[1:]) == {("send", worker)}
    assert worker != threading.current_thread().name
    assert ("preparing delivery failed" in caplog.text) == prepare_fails


def test_the_cloud_leg_sets_up_http_on_its_delivery_thread_before_any_event(tmp_path, fake_segment_cdn,
                                                                            monkeypatch):
    fake_segment_cdn.set_settings("wk", {"integrations": {}})
    threads = []
    real_prepare = HttpSender.prepare

    def spy(self):
        threads.append(threading.current_thread().name)
        real_prepare(self)

    monkeypatch.setattr(HttpSender, "prepare", spy)
    analytics = Analytics("wk", storage_dir=tmp_path, cdn_url=fake_segment_cdn.url,
                          api_url=fake_segment_cdn.api_url, flush_interval=0.05)
    try:
        (cloud,) = [d for d in analytics.destinations() if isinstance(d, SegmentDestination)]
        deadline = time.monotonic() + 5
        while cloud.http.connection is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert threads == ["segment-statsig-segment.io"] and cloud.http.connection is not None
        analytics.track("Order Completed")
        assert analytics.flush(timeout=10)
        assert fake_segment_cdn.batches[-1]["batch"][0]["event"] == "Order Completed"
    finally:
        analytics.shutdown(2)


# --- the queue's remove: one DELETE, count and bytes kept right ---------------------------
def _truth(queue):
    """(count, bytes) read from the storage itself."""
    if isinstance(queue, SqliteQueue):
        return queue.db.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM events").fetchone()
    return len(queue.items), sum(len(text) for _, text in queue.items)


def _ids_upto(queue, last):
    if isinstance(queue, SqliteQueue):
        return queue.db.execute("SELECT COUNT(*) FROM events WHERE id <= ?", (last,)).fetchone()[0]
    return sum(1 for item_id, _ in queue.items if item_id <= last)


@pytest.fixture(params=["sqlite", "memory"])
def make_queue(request, tmp_path):
    made = []

    def make(max_events, max_bytes):
        if request.param == "sqlite":
            queue = SqliteQueue(str(tmp_path / f"q{len(made)}.sqlite3"), max_events, max_bytes)
        else:
            queue = MemoryQueue(max_events, max_bytes)
        made.append(queue)
        return queue

    yield make
    for queue in made:
        queue.close()


def test_remove_is_one_delete(tmp_path):
    queue = SqliteQueue(str(tmp_path / "q.sqlite3"), 100, 10**6)
    queue.put_many([(f"m{i}", "x" * i) for i in range(1, 11)])
    ids = [row[0] for row in queue.peek(4)]
    statements = []
    queue.db.set_trace_callback(statements.append)
    assert queue.remove(ids) == 4
    queue.db.set_trace_callback(None)
    assert statements == [f"DELETE FROM events WHERE id <= {ids[-1]}"]
    assert (queue.count, queue.bytes) == _truth(queue) == (6, sum(range(5, 11)))
    queue.close()


def test_rows_the_bound_trimmed_while_in_flight_are_not_counted_twice(make_queue):
    queue = make_queue(10, 10**6)
    queue.put_many([(f"a{i}", "x" * i) for i in range(1, 11)])
    ids = [row[0] for row in queue.peek(5)]
    assert queue.put_many([(f"b{i}", "y" * 20) for i in range(3)]) == 3  # the 3 oldest of the 5 go
    assert queue.remove(ids) == 2
    assert (queue.count, queue.bytes) == _truth(queue) == (8, 6 + 7 + 8 + 9 + 10 + 60)
    ids = [row[0] for row in queue.peek(3)]
    assert queue.put_many([(f"c{i}", "z" * 5) for i in range(9)]) == 7  # the 3 peeked go, and 4 more
    assert queue.remove(ids) == 0
    assert (queue.count, queue.bytes) == _truth(queue)


def test_remove_of_rows_not_from_the_last_peek_counts_again(make_queue):
    queue = make_queue(100, 10**6)
    queue.put_many([(f"m{i}", "x" * i) for i in range(1, 8)])
    ids = [row[0] for row in queue.peek(5)]
    assert queue.remove(ids[:2]) == 2
    assert queue.remove(ids) == 3  # the peek was of more rows than these
    assert queue.remove([]) == 0
    assert (queue.count, queue.bytes) == _truth(queue) == (2, 6 + 7)


@pytest.mark.parametrize("seed", range(5))
def test_count_and_bytes_stay_true_through_random_puts_peeks_and_removes(make_queue, seed):
    rng = random.Random(seed)
    queue = make_queue(rng.randint(5, 30), rng.randint(200, 2000))
    peeked = []
    for step in range(300):
        action = rng.random()
        if action < 0.45:
            queue.put_many([(f"{step}-{i}", "é" * rng.randint(1, 120)) for i in range(rng.randint(1, 12))])
        elif action < 0.75:
            peeked = [row[0] for row in queue.peek(rng.randint(1, 15))]
        elif peeked:
            still_there = _ids_upto(queue, max(peeked))
            assert queue.remove(peeked) == still_there
            peeked = []
        assert (queue.count, queue.bytes) == tuple(_truth(queue)), step
