"""The Analytics's side of the radio seam (delivery/radio.py): the app's calls that say
the radio is up (`network_active`) or the network gone (`network_available`), and what a
wake-up or the network's return asks of the timeline worker and the destinations. A base
class of Analytics, kept apart so that the client stays the calls and their journal."""
from __future__ import annotations

from ..delivery.radio import Radio

TYPE_CHECKING = False  # mypy reads the block below; at run time typing stays unloaded
if TYPE_CHECKING:
    from typing import List

    from .flush_policies import FlushPolicies
    from .plugin import DestinationPlugin
    from .worker import TimelineWorker


class RadioCalls:
    if TYPE_CHECKING:
        worker: TimelineWorker
        flush_policies: FlushPolicies

        def destinations(self) -> List[DestinationPlugin]: ...

    def _set_up_radio(self) -> None:
        # When the radio wakes (any request of ours, the app's traffic), every leg's pending goes with it.
        self.radio = Radio()
        self.radio.on_wake.append(self._radio_woke)
        self.radio.on_available.append(self._network_back)

    def network_active(self) -> None:
        """The app's own request just woke the radio (Android's OnNetworkActiveListener):
        under the radio-aware schedule (RadioFlushPolicy, the default) what is pending goes
        out now, on that wake-up, instead of on a later one of its own."""
        self.radio.network_active()

    def network_available(self, available: bool) -> None:
        """False: offline (Android's connectivity says the network is gone); no request, no
        retry, no wake-up. True: back; everything pending goes out once, every leg together."""
        if not isinstance(available, bool):
            raise TypeError(f"network_available() takes True or False, not {available!r}")
        self.radio.set_available(available)

    def _radio_woke(self) -> None:
        """Whichever thread woke the radio: under a radio-aware schedule the timeline sends
        every leg's pending now (an app's own policies say when, as they were given)."""
        if self.flush_policies.radio_aware:
            self._flush_if_started()

    def _network_back(self) -> None:
        for destination in self.destinations():
            retry_now = getattr(destination, "retry_now", None)
            if retry_now is not None:
                retry_now()  # the backoff under way ends: one attempt now, not at its end
        self._flush_if_started()

    def _flush_if_started(self) -> None:
        worker = self.worker
        if worker.thread is not None and not worker.holding and not worker.stopping:
            worker.request_flush()
