"""The demo's analytics stack: Analytics + StatsigDestination, sending either to
Statsig (a client key is configured) or to a local Statsig stand-in on loopback.

Where the key comes from, first found wins: the SEGMENT_STATSIG_DEMO_KEY environment
variable, then ``statsig_key.txt`` in the app's data folder (the settings screen
writes it). SEGMENT_STATSIG_DEMO_API_URL points the destination elsewhere (tests).
On-device evaluation (Statsig's config specs evaluated in the app) is on when
``on_device_evaluation.txt`` in the data folder says ``on`` (the settings screen's switch).
"""
from __future__ import annotations

import hashlib
import logging
import os

from segment_statsig import Analytics, ConsentManager, StatsigDestination

from .eventlog import EventLog, EventObserver
from .policies import demo_policies
from .privacy import STATSIG, ConsentChoices, demo_settings
from .recorder import RecordingAnalytics

log = logging.getLogger("demo_app")

KEY_ENV = "SEGMENT_STATSIG_DEMO_KEY"
API_URL_ENV = "SEGMENT_STATSIG_DEMO_API_URL"
KEY_FILE = "statsig_key.txt"
ON_DEVICE_FILE = "on_device_evaluation.txt"
STORES = {"local": "analytics-local", "statsig": "analytics"}  # the analytics folder of each mode
LOCAL_KEY = "client-local-demo-key"
APP_INFO = {"name": "Segment Statsig Demo", "version": "1.0.0", "build": "1",
            "namespace": "org.segmentstatsig.demo"}

# What the local stand-in serves (a Statsig project would define the same two names):
# experiment checkout_button gives the Place-order button a colour, by userID; users
# with no userID are not in it and see the app's default. Gate express_checkout is on
# for identified users (a userID) only.
EXPERIMENT = "checkout_button"
GATE = "express_checkout"
GROUPS = (("Control", {"colour": "green"}), ("Purple", {"colour": "purple"}))


def experiment_group(user_id):
    """(group name, value) of checkout_button for a userID; (None, {}) without one."""
    if not user_id:
        return None, {}
    bucket = int(hashlib.sha256(f"{EXPERIMENT}:{user_id}".encode("utf-8")).hexdigest(), 16) % len(GROUPS)
    group, value = GROUPS[bucket]
    return group, dict(value)


def gate_value(user_id):
    return bool(user_id)


#: a dynamic config and a parameter store too, for the Flags screen (no screen of the shop reads them)
CONFIG = "shipping"
PARAM_STORE = "checkout_copy"
KNOWN_FLAGS = (GATE, EXPERIMENT, CONFIG, PARAM_STORE)  # the names the Flags screen shows by name


def configure_stand_in(fake):
    fake.set_experiment(EXPERIMENT, lambda user: experiment_group(user.get("userID")))
    fake.set_gate(GATE, lambda user: gate_value(user.get("userID")))
    fake.set_config(CONFIG, {"free_over": 50, "carrier": "Trail Post"})
    fake.set_param_store(PARAM_STORE, {
        "place_order_label": {"ref_type": "static", "param_type": "string", "value": "Place order"},
        "express_label": {"ref_type": "gate", "param_type": "string", "gate_name": GATE,
                          "pass_value": "Express checkout", "fail_value": "Log in for express"},
        "button_colour": {"ref_type": "experiment", "param_type": "string", "experiment_name": EXPERIMENT,
                          "param_name": "colour"}})
    fake.set_config_specs(stand_in_specs())


def stand_in_specs():
    """The same two names as config specs, for on-device evaluation: the gate is on with a
    userID; the experiment needs one and splits users by Statsig's own bucketing (so a
    user's group may not be the one the initialize mode's stand-in gives)."""
    has_user_id = {"type": "unit_id", "idType": "userID", "operator": "neq", "targetValue": None}
    half = {"type": "user_bucket", "idType": "userID", "operator": "lt", "targetValue": 500,
            "additionalValues": {"salt": EXPERIMENT}}

    def rule(rule_id, conditions, value, group=None):
        out = {"name": rule_id, "id": rule_id, "salt": rule_id, "idType": "userID", "passPercentage": 100,
               "conditions": conditions, "returnValue": value}
        if group:
            out.update(groupName=group, isExperimentGroup=True)
        return out

    def spec(name, entity, default, rules, **extra):
        kind = "feature_gate" if entity == "feature_gate" else "dynamic_config"
        return {"name": name, "type": kind, "entity": entity, "salt": name, "enabled": True, "defaultValue": default,
                "idType": "userID", "rules": rules, **extra}

    (control, control_value), (purple, purple_value) = GROUPS
    return {"has_updates": True, "time": 1714564800000, "layer_configs": [], "layers": {},
            "feature_gates": [spec(GATE, "feature_gate", False, [rule(f"{GATE}:on", [has_user_id], True)])],
            "dynamic_configs": [spec(EXPERIMENT, "experiment", {}, [
                rule(f"{EXPERIMENT}:{control}", [has_user_id, half], control_value, control),
                rule(f"{EXPERIMENT}:{purple}", [has_user_id], purple_value, purple)], isActive=True)]}


def read_on_device(data_dir):
    try:
        with open(os.path.join(data_dir, ON_DEVICE_FILE), encoding="utf-8") as f:
            return f.read().strip() == "on"
    except OSError:
        return False


def save_on_device(data_dir, on):
    os.makedirs(data_dir, exist_ok=True)
    with open(os.path.join(data_dir, ON_DEVICE_FILE), "w", encoding="utf-8") as f:
        f.write("on\n" if on else "off\n")


def read_key(data_dir):
    """(key, where it came from) or (None, None)."""
    key = os.environ.get(KEY_ENV, "").strip()
    if key:
        return key, "environment"
    try:
        with open(os.path.join(data_dir, KEY_FILE), encoding="utf-8") as f:
            key = f.read().strip()
    except OSError:
        return None, None
    return (key, "settings") if key else (None, None)


def save_key(data_dir, key):
    os.makedirs(data_dir, exist_ok=True)
    path = os.path.join(data_dir, KEY_FILE)
    if key:
        with open(path, "w", encoding="utf-8") as f:
            f.write(key.strip() + "\n")
    elif os.path.exists(path):
        os.remove(path)
    return path


class Backend:
    """Everything the screens talk to. `analytics` records each call for --tour."""

    def __init__(self, data_dir, on_change=None, *, deterministic=False):
        self.data_dir = data_dir
        self.event_log = EventLog(on_change)
        self.fake = None
        key, self.key_source = read_key(data_dir)
        self.on_device = read_on_device(data_dir)
        api_url = os.environ.get(API_URL_ENV, "").strip() or None
        if key is None:
            from segment_statsig.testing import FakeStatsig

            self.fake = FakeStatsig(api_keys=None).start()
            configure_stand_in(self.fake)
            key, api_url, self.key_source = LOCAL_KEY, self.fake.url, "local stand-in"
        self.api_key = key
        self.mode = "local" if self.fake is not None else "statsig"
        # deterministic (the tour): send only on an explicit flush, and never retry on
        # a timer, so a recording of the session replays request for request.
        timing = dict(flush_at=10_000, flush_interval=3600.0) if deterministic else dict(flush_at=20, flush_interval=5.0)
        retry = dict(retry_base=3600.0, retry_max=3600.0) if deterministic else dict(retry_base=1.0, retry_max=30.0)
        # Segment's settings, in code (no workspace, no CDN fetch): the key, a destination
        # filter and a consent mapping; the same with the stand-in and with your key.
        self.settings = demo_settings(key)
        # One store per mode: events made against the stand-in never reach a real project.
        stores = {mode: os.path.join(data_dir, folder) for mode, folder in STORES.items()}
        self.returning = any(os.path.isdir(path) for path in stores.values())  # the app ran here before
        store = stores[self.mode]
        # When batches go: the shorthand's policies (count, frequency, background) and the
        # app's own (policies.py), switched on the Settings screen.
        self.flush_policies = demo_policies(timing["flush_at"], timing["flush_interval"])
        self.orders_policy = self.flush_policies[-1]
        core = Analytics(storage_dir=store, settings=self.settings, track_lifecycle_events=True,
                         app_info=APP_INFO, flush_policies=self.flush_policies)
        # Consent first: it holds events until start() and stamps each one, so the log's
        # observer (after it) sees the stamp; then the destination, which gets its blocker.
        self.choices = ConsentChoices(data_dir)
        self.consent = core.add(ConsentManager(self.choices))
        core.add(EventObserver(self.event_log))
        self.destination = core.add(StatsigDestination(
            **({"api_url": api_url} if api_url else {}), on_device_evaluation=self.on_device, **timing, **retry))
        self.destination.add_listener(self.event_log.listener)
        self.analytics = RecordingAnalytics(core)
        self.api_url = self.destination.api_url
        self.initial_consent = self.choices.get_categories()  # for the recording's options
        self.consent.start()  # the stored choices are loaded: process what waits, stamped with them
        self.analytics.keep("consent_start")

    known_flags = KNOWN_FLAGS

    def set_orders_at_once(self, on):
        """The app's own flush policy (policies.py), on or off: read by the timeline worker."""
        self.orders_policy.enabled = bool(on)

    # --- gates and experiments: memory reads, never the network ------------------------
    def prefetch_values(self):
        """Start fetching this user's gates and experiments (on the values thread)."""
        self.destination.prefetch_values()

    def check_gate(self, name):
        value = self.destination.check_gate(name)
        self.analytics.keep("check_gate", name=name)
        return value

    def kept_check(self, kind, name):
        """A check app.flags made (a FeatureGate shown), kept in the recording."""
        method = {"gates": "check_gate", "configs": "get_config", "experiments": "get_experiment",
                  "layers": "get_layer"}[kind]
        self.analytics.keep(method, name=name)

    def experiment_value(self, name, key, default):
        """(experiment[key] or default, group name or None)."""
        experiment = self.destination.get_experiment(name)
        value = experiment.get(key, default)
        self.analytics.keep("get_experiment", name=name, key=key, default=default)
        return value, experiment.group_name

    @property
    def values_source(self):
        """Where the gates' and experiments' values come from: Network, Cache, Bootstrap..."""
        return self.destination.values_reason

    def wait_for_values(self, timeout=10.0):
        """A harness-style wait_for_values, kept as a call of the session: deliver what was
        sent so far, then wait for the current user's gates and experiments. Blocks (up to
        twice `timeout`): call it on a helper thread, never the UI thread."""
        self.analytics.keep("wait_for_values")
        return self.analytics.deliver(timeout) and self.destination.wait_for_values(timeout)

    # --- privacy: consent, opt-out, erase --------------------------------------------
    def consent_categories(self):
        """Every category the settings know, and whether the user gives it now."""
        return self.choices.get_categories()

    def statsig_categories(self):
        """The categories Statsig needs (the settings' consent mapping; none: it gets everything)."""
        return list(self.consent.state.destination_categories.get(STATSIG) or [])

    def statsig_consented(self):
        given = self.choices.get_categories()
        return all(given.get(category) is True for category in self.statsig_categories())

    def set_consent(self, category, given):
        """Store the choice, then tell the ConsentManager (it tracks the preference event)."""
        self.choices.choose(category, given)
        self.consent.notify_consent_changed()
        self.analytics.keep("consent_changed", categories=self.choices.get_categories())

    @property
    def collecting(self):
        return self.analytics.enabled

    def set_collecting(self, enabled):
        """Opt out (False) or back in; Analytics keeps the choice across restarts."""
        self.analytics.enabled = bool(enabled)

    def purge(self, timeout=10.0):
        """Erase every undelivered event on the device: (ok, how many were waiting in the
        Statsig queue). Waits for the timeline worker: call it off the UI thread."""
        waiting = self.queue_depth()
        return self.analytics.purge(timeout), waiting

    # --- what the buttons do ---------------------------------------------------------
    def flush_now(self):
        self.analytics.flush()

    def set_offline(self, offline):
        """The local stand-in refuses (503) while offline; a real Statsig cannot be told to."""
        if self.fake is None:
            return False
        self.fake.set_offline(offline)
        if not offline:  # as a connectivity callback would: retry now, not at the end of the backoff
            self.destination.retry_now()
        return True

    @property
    def offline(self):
        return self.fake is not None and self.fake.offline

    def stats(self):
        """The destination's counters: sent, retried, dropped, filtered, blocked..."""
        return self.destination.stats.snapshot()

    def queue_depth(self):
        try:
            return self.destination.queue_depth
        except Exception:  # closed after shutdown
            return 0

    def stop(self):
        """After the app's on_stop (which shut analytics down): stop the stand-in."""
        if self.fake is not None:
            self.fake.stop()
