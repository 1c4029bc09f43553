"""When the demo's events are sent: the library's flush policies plus one of the app's
own, a small FlushPolicy subclass, shown and switched on the Settings screen."""
from __future__ import annotations

from segment_statsig import (BackgroundFlushPolicy, CountFlushPolicy, FlushPolicy, FrequencyFlushPolicy)

DEEP_LINK = "demoshop://product/sku-1002?utm_source=newsletter&utm_campaign=spring"
DEEP_LINK_REFERRER = "com.example.mail"


class SendOrdersAtOnce(FlushPolicy):
    """A custom policy: an Order Completed is sent at once (when switched on), not with
    its batch: the order shows in Statsig while the buyer still looks at the receipt."""

    def __init__(self):
        self.enabled = False
        self.order_seen = False

    def update_state(self, event):
        if self.enabled and event.get("event") == "Order Completed":
            self.order_seen = True

    def should_flush(self):
        return self.order_seen

    def reset(self):
        self.order_seen = False


def demo_policies(flush_at, flush_interval):
    """What flush_at / flush_interval make, plus the app's own policy (the last one)."""
    return [CountFlushPolicy(flush_at), FrequencyFlushPolicy(flush_interval), BackgroundFlushPolicy(),
            SendOrdersAtOnce()]


def describe(policies):
    """One line per policy, for the Settings screen."""
    lines = []
    for policy in policies:
        if isinstance(policy, CountFlushPolicy):
            lines.append(f"CountFlushPolicy({policy.flush_at}): when {policy.flush_at} events wait")
        elif isinstance(policy, FrequencyFlushPolicy):
            lines.append(f"FrequencyFlushPolicy({policy.flush_interval:g}): every {policy.flush_interval:g} s "
                         "while events wait")
        elif isinstance(policy, BackgroundFlushPolicy):
            lines.append("BackgroundFlushPolicy(): when the app goes to the background")
        elif isinstance(policy, SendOrdersAtOnce):
            lines.append(f"SendOrdersAtOnce() (this app's own): each order at once, {'on' if policy.enabled else 'off'}")
    return "\n".join(lines)
