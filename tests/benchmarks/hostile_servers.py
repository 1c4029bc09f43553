"""Hostile servers, measured: each case in a fresh process against a package tree, so two
trees (before and after a change) can be compared side by side.

    python -m tests.benchmarks.hostile_servers                        # this tree's plugin/
    python -m tests.benchmarks.hostile_servers --compare OLD/plugin plugin

Cases (loopback servers of tests/test_hardening_network.py): a 256 KiB gzip reply that
decompresses to 256 MiB from each endpoint (RSS growth), Statsig trickling a byte every
0.3 s beside the cloud leg (events each leg got in 14 s, the longest request), Segment
echoing the write key in a 400 (records naming it, any logger, at DEBUG), environment
proxies with loopback URLs (connections the proxy got), an api_url without /v1 (events
lost), and the CPU of one small POST on a kept-alive connection.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CASES = ("bomb_log_event", "bomb_initialize", "bomb_segment_batch", "bomb_cdn_settings", "trickle",
         "write_key_echo", "proxy", "wrong_url", "post_cpu")


def _rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_case(case):
    """Runs in the child: one case, its figures as a dict."""
    import logging

    from tests import test_hardening_network as t

    from segment_statsig import Analytics, StatsigDestination

    if case.startswith("bomb_"):
        endpoint = {"log_event": t._log_event, "initialize": t._initialize,
                    "segment_batch": t._segment_batch, "cdn_settings": t._cdn_settings}[case[5:]]
        bomb = _bomb(t)
        server = t.bomb_server(bomb, status=200 if case == "bomb_cdn_settings" else 202)
        before = _rss_mb()
        started = time.monotonic()
        try:
            endpoint(server.url)
        except Exception as error:  # noqa: BLE001 - a raise is a figure here
            return {"exception": type(error).__name__}
        return {"rss_growth_mb": round(_rss_mb() - before), "seconds": round(time.monotonic() - started, 2)}
    if case == "trickle":
        return _trickle(t, Analytics, StatsigDestination)
    if case == "write_key_echo":
        return _write_key_echo(t, Analytics, logging)
    if case == "proxy":
        return _proxy(t, Analytics, StatsigDestination)
    if case == "wrong_url":
        return _wrong_url(t, Analytics, StatsigDestination)
    if case == "post_cpu":
        return _post_cpu(t)
    raise ValueError(case)


def _bomb(t):
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(b'{"success":true,"pad":"')]
    block = b" " * (1024 * 1024)
    parts += [compressor.compress(block) for _ in range(t.BOMB_MB)]
    parts.append(compressor.compress(b'"}') + compressor.flush())
    return b"".join(parts)


def _fake_segment():
    from segment_statsig.testing import FakeSegmentCDN

    return FakeSegmentCDN().start()


def _trickle(t, Analytics, StatsigDestination):
    segment = _fake_segment()
    with tempfile.TemporaryDirectory() as folder:
        started = time.monotonic()
        analytics, destination, statsig, cloud_time = t.run_trickle_case(folder, segment, seconds=14)
        time.sleep(max(0.0, 14 - (time.monotonic() - started)))
        now = time.monotonic()
        with statsig.lock:  # a request still trickling has lasted since it started
            longest = max(statsig.trickled + [now - s for s in statsig.trickling.values()], default=0.0)
        got = {"statsig_got": len(statsig.events), "statsig_kept": destination.queue_depth,
               "cloud_got": sum(e["event"] == "Tick" for e in segment.cloud_events),
               "cloud_all_in_s": cloud_time and round(cloud_time, 1),
               "longest_statsig_request_s": round(longest, 1)}
        analytics.shutdown(0.5)
    return got


def _write_key_echo(t, Analytics, logging):
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    logging.getLogger().addHandler(Keep())
    logging.getLogger().setLevel(logging.DEBUG)

    def answer(server, conn, head, body):
        if head.startswith("GET "):
            conn.sendall(t.reply(200, json.dumps({"integrations": {}}).encode()))
        else:
            conn.sendall(t.reply(400, json.dumps({"error": f"invalid write key {t.WRITE_KEY}"}).encode()))

    segment = t.Server(answer)
    with tempfile.TemporaryDirectory() as folder:
        analytics = Analytics(t.WRITE_KEY, storage_dir=folder, cdn_url=segment.url, api_url=segment.url,
                              flush_interval=0.05)
        analytics._settings_ready.wait(5)
        cloud = [d for d in analytics.destinations() if d.key == "Segment.io"][0]
        analytics.track("Echo")
        segment.wait(lambda: cloud.stats.snapshot()["dropped"] == 1, 10)
        last_error = cloud.stats.snapshot()["last_error"] or ""
        analytics.shutdown(1)
    leaks = [r for r in records if t.WRITE_KEY in r.getMessage()]
    return {"records_with_key": len(leaks), "of_them_urllib3": sum(r.name.startswith("urllib3") for r in leaks),
            "key_in_last_error": t.WRITE_KEY in last_error}


def _proxy(t, Analytics, StatsigDestination):
    from segment_statsig.testing import FakeStatsig

    proxy = t.Server(lambda server, conn, head, body: conn.sendall(t.reply(502, b"{}")))
    for name in ("NO_PROXY", "no_proxy"):
        os.environ.pop(name, None)
    for name in t.PROXY_VARIABLES:
        os.environ[name] = proxy.url
    segment = _fake_segment()
    segment.set_settings(t.WRITE_KEY, {"integrations": {"Statsig": {"apiKey": t.KEY}}})
    statsig = FakeStatsig().start()
    with tempfile.TemporaryDirectory() as folder:
        analytics = Analytics(t.WRITE_KEY, storage_dir=folder, cdn_url=segment.url, api_url=segment.api_url,
                              flush_interval=0.05)
        destination = analytics.add(StatsigDestination(t.KEY, api_url=statsig.url, retry_base=0.1, retry_max=0.2))
        analytics._settings_ready.wait(5)
        analytics.track("Through No Proxy")
        destination.prefetch_values()
        destination.wait_for_values(3)
        analytics.flush(timeout=3)
        heads = list(proxy.heads)
        analytics.shutdown(0.5)
    return {"proxy_connections": proxy.connections,
            "proxy_saw_statsig_key": any(t.KEY in h for h in heads),
            "proxy_saw_write_key": any(t.WRITE_KEY in h for h in heads),
            "statsig_got": len(statsig.events), "cloud_got": len(segment.cloud_events)}


def _wrong_url(t, Analytics, StatsigDestination):
    def answer(server, conn, head, body):
        conn.sendall(t.reply(404, b'{"error":"not found"}'))

    server = t.Server(answer)
    with tempfile.TemporaryDirectory() as folder:
        analytics = Analytics(storage_dir=folder, settings={"integrations": {"Statsig": {"apiKey": t.KEY}}},
                              flush_interval=0.05)
        destination = analytics.add(StatsigDestination(api_url=server.url, retry_base=0.05, retry_max=0.2))
        for i in range(3):
            analytics.track(f"Kept {i}")
        server.wait(lambda: len(server.heads) >= 2, 5)
        stats = destination.stats.snapshot()
        figures = {"events_lost": stats["dropped"], "events_kept": destination.queue_depth}
        analytics.shutdown(0.5)
    return figures


def _post_cpu(t):
    from segment_statsig.delivery.http import HttpSender

    server = t.Server(lambda server, conn, head, body: conn.sendall(t.reply(202)))
    sender = HttpSender(server.url + "/v1/log_event", 5, json_reply=True)
    body = json.dumps({"events": [{"eventName": "e", "metadata": {"i": str(i)}} for i in range(20)]}).encode()
    for _ in range(200):
        sender.post(body, {"Content-Type": "application/json"})
    best = float("inf")
    for _ in range(5):
        started = time.thread_time()
        for _ in range(400):
            sender.post(body, {"Content-Type": "application/json"})
        best = min(best, (time.thread_time() - started) / 400 * 1e6)
    return {"cpu_us_per_post": round(best)}


def measure(plugin, case):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.abspath(plugin), root]))
    done = subprocess.run([sys.executable, "-m", "tests.benchmarks.hostile_servers", "--child", case],
                          env=env, capture_output=True, text=True, timeout=120, cwd=root)
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        return {"failed": (done.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(lines[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"), help="two package source roots")
    parser.add_argument("--only", help="comma-separated cases")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_case(args.child)))
        return
    trees = args.compare or ["plugin"]
    cases = args.only.split(",") if args.only else CASES
    print("| case | " + " | ".join(trees) + " |")
    print("|---" * (len(trees) + 1) + "|")
    for case in cases:
        print(f"| {case} | " + " | ".join(json.dumps(measure(tree, case)) for tree in trees) + " |", flush=True)


if __name__ == "__main__":
    main()
