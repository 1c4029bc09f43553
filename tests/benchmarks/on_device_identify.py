"""User switches with and without on-device evaluation, on the loopback fake with a phone's
round trip (initialize and config specs answered after RTT seconds):

    python -m tests.benchmarks.on_device_identify [--users 20] [--rtt 0.3]

For each mode it identifies `users` users never seen before, checking a gate right after each
identify (answered correctly at once?) and waiting for the right value; then it starts again
offline from the same storage folder and checks a user never seen before. It prints one table
row per mode: requests made, checks right at once, median time to the right value, and the
offline cold start's answer. On code without on-device evaluation only the initialize mode runs.
"""
import argparse
import inspect
import statistics
import tempfile
import time

from segment_statsig import Analytics, StatsigDestination
from segment_statsig.testing import FakeStatsig

KEY = "client-bench"
VIPS = {f"user-{i}" for i in range(0, 1000, 2)}  # every other user passes the gate


class PhoneFake(FakeStatsig):
    """The fake, its values endpoints (initialize, config specs) answering after a phone's round trip."""

    rtt = 0.3

    def _handle_initialize(self, request):
        time.sleep(self.rtt)
        return super()._handle_initialize(request)

    def _handle_config_specs(self, request):
        time.sleep(self.rtt)
        return super()._handle_config_specs(request)


def _specs():
    rule = {"name": "vip:r", "id": "vip:r", "salt": "r", "idType": "userID", "passPercentage": 100, "returnValue": True,
            "conditions": [{"type": "user_field", "field": "userID", "operator": "any", "targetValue": sorted(VIPS)}]}
    return {"has_updates": True, "time": 1, "layer_configs": [], "dynamic_configs": [], "layers": {},
            "feature_gates": [{"name": "vip", "type": "feature_gate", "entity": "feature_gate", "salt": "vip",
                               "enabled": True, "defaultValue": False, "idType": "userID", "rules": [rule]}]}


def _client(folder, fake, on_device):
    analytics = Analytics(settings={"integrations": {"Statsig": {"apiKey": KEY}}}, storage_dir=folder,
                          flush_interval=600, flush_at=10_000)
    options = {"on_device_evaluation": True} if on_device else {}
    return analytics, analytics.add(StatsigDestination(api_url=fake.url, retry_base=0.05, **options))


def run(on_device, users, rtt):
    folder = tempfile.mkdtemp()
    PhoneFake.rtt = rtt
    with PhoneFake() as fake:
        fake.set_gate("vip", lambda user: user.get("userID") in VIPS, rule_id="vip:r")
        if hasattr(fake, "set_config_specs"):  # (older code has no config specs)
            fake.set_config_specs(_specs())
        analytics, dest = _client(folder, fake, on_device)
        dest.prefetch_values()
        dest.wait_for_values(10)
        before = len(fake.requests)
        right_at_once, waits = 0, []
        for i in range(1, users + 1):
            user_id = f"user-{i}"
            want = user_id in VIPS
            started = time.perf_counter()
            analytics.identify(user_id)
            right_at_once += dest.check_gate("vip") == want and dest.values_reason not in ("Loading", "NoValues")
            deadline = started + 10
            while not (dest.get_feature_gate("vip").value == want and dest.values_reason not in ("Loading",)):
                if time.perf_counter() > deadline:
                    break
                time.sleep(0.002)
            waits.append(time.perf_counter() - started)
        requests = len(fake.requests) - before
        analytics.shutdown(timeout=2)
        fake.set_offline()
        analytics, dest = _client(folder, fake, on_device)
        dest.prefetch_values()
        dest.wait_for_values(10)
        analytics.identify("user-998")  # never seen on this device; passes the gate
        cold = dest.get_feature_gate("vip")
        analytics.shutdown(timeout=2)
    mode = "on-device" if on_device else "initialize"
    return (f"| {mode} | {requests} | {right_at_once}/{users} | {statistics.median(waits) * 1000:.1f} ms | "
            f"{cold.value} ({cold.evaluation_reason}) |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rtt", type=float, default=0.3)
    args = parser.parse_args()
    print(f"{args.users} new users, values round trip {args.rtt} s")
    print("| mode | requests for the users | right at once | median identify -> right value | "
          "offline cold start, new user (want True) |")
    print("|---|---|---|---|---|")
    print(run(False, args.users, args.rtt))
    if "on_device_evaluation" in inspect.signature(StatsigDestination).parameters:
        print(run(True, args.users, args.rtt))


if __name__ == "__main__":
    main()
