"""Flush policies: each rule of "when is a batch due" is one small class behind
analytics-kotlin's five-method FlushPolicy interface; the timeline worker asks them
through FlushPolicies and knows none of them.

A policy says *when*; how the batch goes out (batch sizes, pacing, retries) stays the
destinations' (delivery/worker.py). Two optional attributes let the worker serve a
policy without waking per call: `flush_at` (wake when that many calls wait) and
`flush_interval` (a batch timer). A policy with `prompt` True (the default for an app's
own subclass) sees each event as it is processed, which costs a wake-up per call.
"""
from __future__ import annotations

import logging

TYPE_CHECKING = False  # mypy reads the block below; at run time typing stays unloaded
if TYPE_CHECKING:
    from typing import Any, Iterable, List, Optional

    from .._typing import Event

log = logging.getLogger("segment_statsig")

__all__ = ["FlushPolicy", "CountFlushPolicy", "FrequencyFlushPolicy", "StartupFlushPolicy",
           "BackgroundFlushPolicy", "RadioFlushPolicy", "FlushPolicies"]

# The default hold: Statsig's and Segment's mobile SDKs send every 30-60 s (a wake-up
# each, ~11 J on LTE), Firebase Analytics about hourly. The journal makes a held event as
# safe as a sent one, so five minutes costs nothing in safety and, in a short session,
# leaves only the wake-ups at launch and at background.
MAX_DELAY = 300.0


class FlushPolicy:
    """analytics-kotlin's FlushPolicy. Subclass and override what the rule needs."""

    flush_at: Optional[int] = None          # served by the worker's wake-up count
    flush_interval: Optional[float] = None  # served by the worker's batch timer
    prompt: bool = True                     # update_state() for each event as it is processed

    def schedule(self, analytics: Any) -> None:
        """Called once, when the Analytics that uses this policy is made."""

    def unschedule(self) -> None:
        """Called at shutdown(): stop whatever schedule() started."""

    def should_flush(self) -> bool:
        """True: send what is pending now. Asked after each pass of the timeline worker."""
        return False

    def update_state(self, event: Event) -> None:
        """Each event, as the timeline worker processes it."""

    def reset(self) -> None:
        """A flush happened (whoever asked for it)."""


class CountFlushPolicy(FlushPolicy):
    """Flush when `n` events are pending (analytics-kotlin's CountBasedFlushPolicy)."""

    prompt = False

    def __init__(self, n: int = 20) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError("CountFlushPolicy(n): n must be an int >= 1")
        self.flush_at = n
        self.count = 0

    def should_flush(self) -> bool:
        return self.flush_at is not None and self.count >= self.flush_at

    def update_state(self, event: Event) -> None:
        self.count += 1

    def reset(self) -> None:
        self.count = 0


class FrequencyFlushPolicy(FlushPolicy):
    """Flush every `seconds` while events are pending (analytics-kotlin's
    FrequencyFlushPolicy). Its timer is the worker's batch timer, started by the first
    pending call: an idle app has no timer running at all."""

    prompt = False

    def __init__(self, seconds: float = 30.0) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
            raise ValueError("FrequencyFlushPolicy(seconds): seconds must be a number > 0")
        self.flush_interval = float(seconds)


class StartupFlushPolicy(FlushPolicy):
    """Flush once, at the first pass after launch (analytics-kotlin's StartupFlushPolicy)."""

    prompt = False

    def __init__(self) -> None:
        self.flushed_at_startup = False

    def should_flush(self) -> bool:
        if self.flushed_at_startup:
            return False
        self.flushed_at_startup = True
        return True


class BackgroundFlushPolicy(FlushPolicy):
    """Flush when the app goes to the background (`on_background()`), as analytics-swift's
    and the Android lifecycle plugin's flush on backgrounding."""

    prompt = False

    def __init__(self) -> None:
        self.backgrounded = False

    def app_backgrounded(self) -> None:
        self.backgrounded = True

    def should_flush(self) -> bool:
        return self.backgrounded

    def reset(self) -> None:
        self.backgrounded = False


class RadioFlushPolicy(BackgroundFlushPolicy):
    """The default: events wait for the radio. In the foreground a batch is held up to
    `max_delay` seconds, unless the radio is up anyway: woken by another request of ours
    (any leg, initialize, a refresh) or the app's (`network_active()`), when everything
    pending goes with it (delivery/radio.py). At `on_background()` and `flush()`, at once."""

    # The timeline worker sends the calls made just after a wake-up at the end of that
    # window (analytics/worker.py, nudge); the wake-up itself flushes every leg (Analytics).
    radio_aware = True

    def __init__(self, max_delay: float = MAX_DELAY) -> None:
        if isinstance(max_delay, bool) or not isinstance(max_delay, (int, float)) or not max_delay > 0:
            raise ValueError("RadioFlushPolicy(max_delay): max_delay must be a number of seconds > 0")
        super().__init__()
        self.max_delay = self.flush_interval = float(max_delay)


def default_policies(flush_at: Optional[int], flush_interval: Optional[float]) -> List[FlushPolicy]:
    """flush_at / flush_interval, when the app gives either, are the shorthand for count,
    frequency and background policies (20 calls, 30 s by default); given neither, the
    radio decides."""
    if flush_at is None and flush_interval is None:
        return [RadioFlushPolicy()]
    return [CountFlushPolicy(20 if flush_at is None else flush_at),
            FrequencyFlushPolicy(30.0 if flush_interval is None else flush_interval), BackgroundFlushPolicy()]


class FlushPolicies:
    """The worker's view of the policies: each call guarded (a policy that raises is
    logged and ignored), the wake-up count and timer they need."""

    def __init__(self, policies: Iterable[FlushPolicy]) -> None:
        self.policies = list(policies)
        for policy in self.policies:
            if not isinstance(policy, FlushPolicy):
                raise TypeError(f"flush_policies holds {policy!r}, not a FlushPolicy")
        counts = [p.flush_at for p in self.policies if p.flush_at is not None]
        intervals = [p.flush_interval for p in self.policies if p.flush_interval is not None]
        self.prompt = any(p.prompt for p in self.policies)
        # None: no policy counts calls, the worker does not wake for them.
        self.flush_at: Optional[int] = min(counts) if counts else None
        self.flush_interval: Optional[float] = min(intervals) if intervals else None
        # Only policies that change their answer per event are told of each one.
        self.watching = [p for p in self.policies if type(p).update_state is not FlushPolicy.update_state]
        self.radio_aware = any(getattr(p, "radio_aware", False) for p in self.policies)

    def _each(self, what: str, *args: Any) -> List[Any]:
        results = []
        for policy in self.policies:
            try:
                results.append(getattr(policy, what)(*args))
            except Exception:
                log.exception("flush policy %s failed in %s(); ignored", type(policy).__name__, what)
        return results

    def schedule(self, analytics: Any) -> None:
        self._each("schedule", analytics)

    def unschedule(self) -> None:
        self._each("unschedule")

    def should_flush(self) -> bool:
        return any(result is True for result in self._each("should_flush"))

    def reset(self) -> None:
        self._each("reset")

    def update_state(self, event: Event) -> None:
        for policy in self.watching:
            try:
                policy.update_state(event)
            except Exception:
                log.exception("flush policy %s failed in update_state(); ignored", type(policy).__name__)

    def app_backgrounded(self) -> bool:
        """Tell the policies that listen for it; True if any does."""
        told = False
        for policy in self.policies:
            listener = getattr(policy, "app_backgrounded", None)
            if listener is not None:
                told = True
                try:
                    listener()
                except Exception:
                    log.exception("flush policy %s failed in app_backgrounded(); ignored", type(policy).__name__)
        return told
