"""Adapters: how the harness drives an implementation through a case.

An adapter gets a :class:`Session` and must make the case's calls in order, deliver
everything (flush and wait), and return. Three kinds, chosen with ``--adapter``:

- ``ours`` (the default): this package's ``Analytics`` + ``StatsigDestination``.
- ``module:function``: a Python callable ``function(session)``.
- ``cmd:<command line>``: a subprocess. It reads JSON lines on stdin: first
  ``{"setup": {...}}`` (``Session.setup_dict()``), then one ``{"method", "args"}`` per call,
  then ``{"method": "shutdown"}``; it must deliver everything and exit 0. The URLs and
  keys are also in the environment (``SEGMENT_STATSIG_CONFORMANCE_*``) and ``{statsig_url}``,
  ``{cdn_url}``, ``{api_key}``, ``{storage_dir}`` in the command line are replaced.

Each declares its capabilities (``capabilities.py``): a callable as a ``capabilities``
attribute (read before the run) or as what it returns; a subprocess as a
``{"capabilities": [...]}`` line on stdout when it reads the setup. None declared: none held.
"""
from __future__ import annotations

import importlib
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Dict, List, Optional, cast

from .capabilities import ALL
from .recording import decode_values

DEFAULT_CONTEXT = {"locale": "en-US", "timezone": "UTC"}


@dataclass
class Session:
    """Everything an adapter needs for one run of one case (placeholders resolved)."""

    name: str
    calls: List[Dict[str, Any]]    # {"method": ..., "args": {...}}; tagged values still tagged
    settings: Optional[Dict[str, Any]]  # settings the app passes in code (None: from the CDN)
    statsig_url: str               # FakeStatsig.url: the Statsig api_url
    cdn_url: str                   # FakeSegmentCDN.url: Segment's cdn_url
    segment_api_url: str           # FakeSegmentCDN.api_url: Segment's api_url
    api_key: str                   # the Statsig key of this run
    write_key: Optional[str]       # the Segment write key, when the case uses the CDN
    storage_dir: str               # a fresh empty directory for this run
    options: Dict[str, Any] = field(default_factory=dict)
    timeout: float = 20.0          # seconds the adapter may take to deliver
    requires: List[str] = field(default_factory=list)  # the capabilities the case needs

    @property
    def context(self) -> Dict[str, Any]:
        """The device context the case pins (so recordings do not depend on the machine)."""
        return {**DEFAULT_CONTEXT, **(self.options.get("context") or {})}

    def decoded_calls(self) -> List[Dict[str, Any]]:
        """The calls with tagged values turned into Python values (datetime, set, ...)."""
        return [{"method": c["method"], "args": decode_values(c.get("args") or {})} for c in self.calls]

    def setup_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "settings": self.settings, "statsig_url": self.statsig_url,
                "cdn_url": self.cdn_url, "segment_api_url": self.segment_api_url,
                "api_key": self.api_key, "write_key": self.write_key, "storage_dir": self.storage_dir,
                "options": self.options, "context": self.context, "timeout": self.timeout,
                "requires": self.requires}

    def env(self) -> Dict[str, str]:
        return {f"SEGMENT_STATSIG_CONFORMANCE_{k.upper()}": ("" if v is None else str(v))
                for k, v in self.setup_dict().items() if not isinstance(v, (dict, list))}


#: an adapter: runs a session; may return the capabilities it has (or carry them as an attribute)
Adapter = Callable[[Session], Optional[Collection[str]]]


# -- ours -------------------------------------------------------------------------------

#: defaults that make batching deterministic: send only when the case flushes
OUR_ANALYTICS_DEFAULTS = {"flush_at": 10_000, "flush_interval": 3600.0}
OUR_DESTINATION_DEFAULTS = {"flush_at": 10_000, "flush_interval": 3600.0, "retry_base": 0.05,
                            "retry_max": 0.5, "timeout": 2.0}

_COMMON = ("context", "integrations", "timestamp")


def ours(session: Session) -> None:
    """Drive ``segment_statsig.Analytics`` + ``StatsigDestination``."""
    from segment_statsig import Analytics, StatsigDestination

    opts = session.options
    analytics_kw = {**OUR_ANALYTICS_DEFAULTS, **(opts.get("analytics") or {})}
    if "flush_policies" in analytics_kw:
        analytics_kw["flush_policies"] = flush_policies(analytics_kw["flush_policies"])
    dest_kw = {**OUR_DESTINATION_DEFAULTS, **(opts.get("destination") or {})}
    analytics = Analytics(session.write_key, storage_dir=session.storage_dir, cdn_url=session.cdn_url,
                          api_url=session.segment_api_url, settings=session.settings,
                          settings_timeout=5.0, **analytics_kw)
    try:
        analytics.set_context(**session.context)
        consent = opts.get("consent")
        if consent is not None:  # a consent platform the calls can change (consent_changed)
            from segment_statsig import ConsentManager

            choices = dict(consent.get("categories") or {})
            # (kept on the manager for consent_changed to change: an attribute of the harness's own)
            analytics.add(ConsentManager(lambda: dict(choices))).choices = choices  # type: ignore[attr-defined]
        analytics.add(StatsigDestination(api_url=session.statsig_url, **dest_kw))
        for call in session.decoded_calls():
            _call(analytics, call["method"], call["args"], session.timeout)
    finally:
        analytics.shutdown(timeout=session.timeout)


ours.capabilities = ALL  # type: ignore[attr-defined]


def _call(analytics: Any, method: str, args: Dict[str, Any], timeout: float) -> None:
    common = {k: args[k] for k in _COMMON if k in args}
    if "enrichment" in args:  # the call's own enrichment function, described in the case
        common["enrichment"] = _enrichment(args["enrichment"])
    if method == "track":
        analytics.track(args["event"], args.get("properties"), **common)
    elif method == "screen":
        analytics.screen(args.get("name"), args.get("category"), args.get("properties"), **common)
    elif method == "page":
        analytics.page(args.get("name"), args.get("category"), args.get("properties"), **common)
    elif method == "identify":
        analytics.identify(args.get("userId"), args.get("traits"), **common)
    elif method == "group":
        analytics.group(args["groupId"], args.get("traits"), **common)
    elif method == "alias":
        analytics.alias(args["userId"], **common)
    elif method == "reset":
        analytics.reset()
    elif method in _VALUE_CALLS:
        _value_call(analytics, method, args, timeout)
    elif method == "flush":
        store = _statsig(analytics)
        if store is not None and not store.flush_exposures(timeout):
            raise AdapterError(f"exposures not stored within {timeout}s")
        if not analytics.flush(timeout=timeout):
            raise AdapterError(f"flush did not deliver everything within {timeout}s")
    elif method == "wait_for_delivered":
        _wait_for_delivered(analytics, int(args["events"]), timeout)
    elif method == "open_url":
        analytics.open_url(args["url"], args.get("referrer"), args.get("properties"))
    elif method == "on_foreground":
        analytics.on_foreground()
    elif method == "on_background":
        analytics.on_background()
    elif method in _PRIVACY_CALLS:
        _privacy_call(analytics, method, args, timeout)
    else:
        raise AdapterError(f"unknown call {method!r}")


def _wait_for_delivered(analytics: Any, events: int, timeout: float) -> None:
    """Wait until Statsig accepted `events` events in all, without asking for a flush: a
    case about flush policies lets them send, then goes on (so its batches are exact)."""
    dest = _statsig(analytics)
    deadline = time.monotonic() + timeout
    while dest is None or dest.stats.snapshot()["sent"] < events:
        if time.monotonic() > deadline:
            raise AdapterError(f"wait_for_delivered: {events} events not delivered within {timeout}s")
        time.sleep(0.01)


def flush_policies(specs: List[Any]) -> List[Any]:
    """A case's ``options.analytics.flush_policies``, e.g. ``[{"count": 2}, {"frequency": 30},
    {"startup": true}, {"background": true}]``: the app's flush policies, in that order."""
    from segment_statsig import BackgroundFlushPolicy, CountFlushPolicy, FrequencyFlushPolicy, StartupFlushPolicy

    made: List[Any] = []
    for spec in specs:
        if not isinstance(spec, dict) or len(spec) != 1:
            raise AdapterError(f"flush policy {spec!r}: one of count, frequency, startup, background")
        (kind, arg), = spec.items()
        if kind == "count":
            made.append(CountFlushPolicy(int(arg)))
        elif kind == "frequency":
            made.append(FrequencyFlushPolicy(float(arg)))
        elif kind == "startup" and arg is True:
            made.append(StartupFlushPolicy())
        elif kind == "background" and arg is True:
            made.append(BackgroundFlushPolicy())
        else:
            raise AdapterError(f"flush policy {spec!r}: one of count, frequency, startup, background")
    return made


def _enrichment(spec: Dict[str, Any]) -> Any:
    """A case's "enrichment": {field: {key: value}}: the function merges each object into
    that field of the call's event (e.g. {"properties": {"coupon": "SPRING"}})."""
    def enrich(event: Dict[str, Any]) -> Dict[str, Any]:
        for field, values in spec.items():
            event[field] = {**(event.get(field) or {}), **values}
        return event
    return enrich


#: value calls: wait_for_values {"timeout"?}; check_gate {"name"}; get_config / get_experiment
#: {"name", "key"?, "default"?}; get_layer / get_parameter_store {"name", "key", "default"?} (each
#: also "log_exposure": false); log_gate_exposure / log_config_exposure / log_experiment_exposure
#: {"name"}, log_layer_parameter_exposure {"name", "key"}; override_gate / override_config /
#: override_experiment / override_layer / override_parameter_store {"name", "value", "user_id"?};
#: remove_<kind>_override {"name", "user_id"?}; remove_all_overrides {"user_id"?};
#: bootstrap {"values", "user_id"?}; set_config_specs {"specs"}
_KINDS = ("gate", "config", "experiment", "layer", "parameter_store")
_VALUE_CALLS = ("check_gate", "get_config", "get_experiment", "get_layer", "get_parameter_store", "wait_for_values",
                "log_gate_exposure", "log_config_exposure", "log_experiment_exposure", "log_layer_parameter_exposure",
                "remove_all_overrides", "bootstrap", "set_config_specs",
                *(f"override_{kind}" for kind in _KINDS), *(f"remove_{kind}_override" for kind in _KINDS))


def _statsig(analytics: Any) -> Any:
    from segment_statsig import StatsigDestination

    return analytics.find(StatsigDestination)


def _value_call(analytics: Any, method: str, args: Dict[str, Any], timeout: float) -> None:
    dest = _statsig(analytics)
    if dest is None:
        raise AdapterError(f"{method}: no StatsigDestination")
    if method == "wait_for_values":
        # let the timeline apply earlier identify/reset first, so each user is fetched once
        analytics.flush(timeout=timeout)
        if not dest.wait_for_values(args.get("timeout", timeout)):
            raise AdapterError("wait_for_values: no values")
        return
    user = {"user_id": args["user_id"]} if "user_id" in args else {}
    if method == "check_gate":
        dest.check_gate(args["name"], log_exposure=args.get("log_exposure", True))
    elif method.startswith("get_"):
        result = getattr(dest, method)(args["name"], log_exposure=args.get("log_exposure", True))
        if "key" in args:
            result.get(args["key"], args.get("default"))
    elif method == "log_layer_parameter_exposure":
        dest.log_layer_parameter_exposure(args["name"], args["key"])
    elif method.startswith("log_"):
        getattr(dest, method)(args["name"])
    elif method.startswith("override_"):
        getattr(dest, method)(args["name"], args["value"], **user)
    elif method == "remove_all_overrides":
        dest.remove_all_overrides(**user)
    elif method.startswith("remove_"):
        getattr(dest, method)(args["name"], **user)
    elif method == "bootstrap":
        dest.bootstrap(args["values"], args.get("user_id"))
    else:  # set_config_specs
        dest.set_config_specs(args["specs"])
    # exposures are stored on the values thread: wait, so they keep their place among the events
    if not dest.flush_exposures(timeout):
        raise AdapterError(f"{method}: exposure not stored within {timeout}s")


#: privacy calls: consent_start {}, consent_changed {"categories": {name: bool}}
#: (with options.consent {"categories": {...}}), set_enabled {"enabled": bool}, purge {}
_PRIVACY_CALLS = ("consent_start", "consent_changed", "set_enabled", "purge")


def _privacy_call(analytics: Any, method: str, args: Dict[str, Any], timeout: float) -> None:
    if method == "set_enabled":
        analytics.enabled = bool(args["enabled"])
        return
    if method == "purge":
        if not analytics.purge(timeout):
            raise AdapterError(f"purge did not finish within {timeout}s")
        return
    from segment_statsig import ConsentManager

    consent = analytics.find(ConsentManager)
    if consent is None:
        raise AdapterError(f"{method}: the case needs options.consent")
    if method == "consent_start":
        consent.start()
    else:
        consent.choices.clear()
        consent.choices.update(args.get("categories") or {})
        consent.notify_consent_changed()


# -- the other kinds ----------------------------------------------------------------------

class AdapterError(RuntimeError):
    """The implementation under test could not run the case (``capabilities``: what it had
    declared before it failed, if anything)."""

    capabilities: Optional[List[str]] = None


def load(spec: Optional[str]) -> Adapter:
    """``None``/``"ours"``, ``"module:function"`` or ``"cmd:<command line>"``."""
    if spec in (None, "", "ours"):
        return ours
    if spec.startswith("cmd:"):
        return subprocess_adapter(spec[4:])
    module, sep, name = spec.partition(":")
    if not sep or not name:
        raise AdapterError(f"adapter {spec!r}: use 'ours', 'module:function' or 'cmd:<command>'")
    fn = getattr(importlib.import_module(module), name, None)
    if not callable(fn):
        raise AdapterError(f"adapter {spec!r}: {name} is not a callable in {module}")
    return cast(Adapter, fn)


def declared_capabilities(stdout: str) -> Optional[List[str]]:
    """The capabilities a subprocess declared: its first stdout line that is a JSON object
    with a ``capabilities`` list (other output is its own business)."""
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and isinstance(message.get("capabilities"), list):
            return [str(name) for name in message["capabilities"]]
    return None


def subprocess_adapter(command: str) -> Adapter:
    def run(session: Session) -> Optional[List[str]]:
        fields = {k: ("" if v is None else str(v)) for k, v in session.setup_dict().items()}
        argv = [part.format(**fields) if "{" in part else part for part in shlex.split(command)]
        lines = [json.dumps({"setup": session.setup_dict()})]
        lines += [json.dumps({"method": c["method"], "args": c.get("args") or {}}) for c in session.calls]
        lines.append(json.dumps({"method": "shutdown", "args": {}}))
        try:
            proc = subprocess.run(argv, input="\n".join(lines) + "\n", text=True, capture_output=True,
                                  timeout=session.timeout + 10, env={**os.environ, **session.env()})
        except subprocess.TimeoutExpired:
            raise AdapterError(f"{argv[0]} did not finish within {session.timeout + 10}s") from None
        capabilities = declared_capabilities(proc.stdout)
        if proc.returncode != 0:
            error = AdapterError(f"{argv[0]} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
            error.capabilities = capabilities
            raise error
        return capabilities

    run.__name__ = f"cmd:{command}"
    return run


def main_stdin() -> int:
    """A subprocess adapter driving *our* implementation: ``cmd:python -m
    segment_statsig.testing.adapters`` (an example for other runtimes, and its test)."""
    setup = None
    calls = []
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        if "setup" in msg:
            setup = msg["setup"]
            print(json.dumps({"capabilities": sorted(ALL)}), flush=True)  # what this one has: all
        elif msg.get("method") == "shutdown":
            break
        else:
            calls.append(msg)
    if setup is None:
        print("no setup line", file=sys.stderr)
        return 2
    ours(Session(name=setup["name"], calls=calls, settings=setup["settings"],
                 statsig_url=setup["statsig_url"], cdn_url=setup["cdn_url"],
                 segment_api_url=setup["segment_api_url"], api_key=setup["api_key"],
                 write_key=setup["write_key"], storage_dir=setup["storage_dir"],
                 options=setup["options"], timeout=setup["timeout"]))
    return 0


if __name__ == "__main__":
    sys.exit(main_stdin())
