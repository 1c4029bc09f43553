"""Statsig's Python server SDK (`statsig`) as an oracle: config specs and users in (stdin
JSON {"specs": text, "users": [...]}), the initialize reply it builds for each user out
(stdout JSON array). Offline: local_mode with the specs as bootstrap_values, all logging off.

Run as its own process (tests/test_on_device_differential.py does), with TZ=UTC: the SDK
reads the `on` operator's day in local time, and keeps threads of its own.
"""
import json
import sys

from statsig import StatsigOptions, StatsigServer, StatsigUser
from statsig.utils import HashingAlgorithm

_FIELDS = {"userID": "user_id", "email": "email", "ip": "ip", "userAgent": "user_agent", "country": "country",
           "locale": "locale", "appVersion": "app_version", "custom": "custom", "privateAttributes": "private_attributes",
           "customIDs": "custom_ids"}


def main():
    job = json.load(sys.stdin)
    servers = {}
    replies = []
    for user in job["users"]:
        tier = (user.get("statsigEnvironment") or {}).get("tier")
        if tier not in servers:  # the SDK takes the tier from its options, one server per tier
            server = StatsigServer()
            server.initialize("secret-oracle", StatsigOptions(local_mode=True, bootstrap_values=job["specs"],
                                                              disable_all_logging=True, tier=tier))
            servers[tier] = server
        person = StatsigUser(**{_FIELDS[k]: v for k, v in user.items() if k in _FIELDS})
        replies.append(servers[tier].get_client_initialize_response(person, hash=HashingAlgorithm.NONE))
    json.dump(replies, sys.stdout)
    sys.stdout.flush()
    for server in servers.values():
        server.shutdown()


if __name__ == "__main__":
    main()
