"""The three libraries behind one face (track, drain, flush, info), each pointed at the loopback sink only.

  ours     segment_statsig.Analytics + StatsigDestination (device mode, journal on disk)
  segment  segment.analytics.Client (segment-analytics-python), default options
  statsig  statsig's Python server SDK, default options, log_event()
  none     no library: what the measuring loop costs alone

Ours and segment are pointed at the sink through their URL options, statsig through
StatsigOptions(api=...) plus its error-reporting endpoint (a class attribute hard-wired
to Statsig's cloud), which is re-pointed at the sink too.
"""

from __future__ import annotations

WRITE_KEY = "bench-write-key"
STATSIG_SECRET = "secret-bench"
CLIENT_KEY = "client-bench"


class Lib:
    """A uniform face over the three libraries: track(i), drain(timeout), info()."""

    def __init__(self, name: str, url: str, tmp: str | None, options: dict | None = None):
        self.name = name
        options = options or {}
        if name == "ours":
            from segment_statsig import Analytics, StatsigDestination

            self.analytics = Analytics(
                settings={"integrations": {"Statsig": {"apiKey": CLIENT_KEY}}},
                storage_dir=tmp,
                # These rows measure the count/interval shorthand they always did (20 calls,
                # 30 s), not the radio-aware default (the session scenario measures that).
                flush_at=20, flush_interval=30.0,
            )
            self.dest = StatsigDestination(api_url=url + "/v1", **options.get("dest", {}))
            self.analytics.add(self.dest)
            track = self.analytics.track

            def _track(i, _t=track):
                _t("Bench Event", {"i": i, "plan": "pro"})

            self.track = _track
        elif name == "segment":
            from segment.analytics import Client

            self.client = Client(WRITE_KEY, host=url, **options.get("client", {}))
            track = self.client.track

            def _track(i, _t=track):
                _t("user-1", "Bench Event", {"i": i, "plan": "pro"})

            self.track = _track
        elif name == "statsig":
            from statsig import StatsigEvent, StatsigOptions, StatsigUser, statsig
            from statsig.statsig_error_boundary import _StatsigErrorBoundary

            # Hard-wired to Statsig's cloud; keep the benchmark on loopback.
            _StatsigErrorBoundary.endpoint = url + "/v1/sdk_exception"
            self.statsig = statsig
            statsig.initialize(
                STATSIG_SECRET,
                StatsigOptions(api=url + "/v1/", disable_all_logging=False, **options.get("options", {})),
            )
            user = StatsigUser("u")
            log_event = statsig.log_event

            def _track(i, _l=log_event, _E=StatsigEvent, _u=user):
                _l(_E(_u, "Bench Event", metadata={"i": str(i), "plan": "pro"}))

            self.track = _track
        elif name == "none":  # the harness alone: what the pacing loop costs with no library
            self.track = lambda i: None
        else:
            raise ValueError(name)

    def drain(self, timeout: float):
        """What the library offers to deliver everything before exit."""
        if self.name == "ours":
            return self.analytics.shutdown(timeout=timeout)
        if self.name == "segment":
            self.client.flush()  # blocks until the queue is empty (queue.join)
            return True
        if self.name == "statsig":
            self.statsig.shutdown()
            return True

    def flush(self, timeout: float):
        """Deliver what is queued without shutting down (the phone-pace drain)."""
        if self.name == "ours":
            return self.analytics.flush(timeout=timeout)
        if self.name == "segment":
            self.client.flush()
            return True
        if self.name == "statsig":
            self.statsig.flush()  # synchronous: batches and posts on this thread
            return True
        return True

    def info(self) -> dict:
        out = {}
        if self.name == "ours":
            for attr in ("queue_depth",):
                try:
                    out[attr] = getattr(self.dest, attr)
                except Exception as e:  # the lead's API may still be moving
                    out[attr] = repr(e)
            try:
                st = self.dest.stats
                snap = st.snapshot() if hasattr(st, "snapshot") else st
                out["stats"] = snap if isinstance(snap, dict) else repr(snap)
            except Exception as e:
                out["stats"] = repr(e)
        elif self.name == "segment":
            out["queue_depth"] = self.client.queue.qsize()
        return out
