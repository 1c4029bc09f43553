"""Enrichment: context.library, app, os, device, screen, locale, timezone, from what
the platform offers. Computed once, on the timeline worker, never on the caller's thread."""
from __future__ import annotations

import os
import time

from ..version import __version__
from .plugin import Plugin, PluginType

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Dict, Mapping, Optional

    from .._typing import Event


def _locale() -> str:
    import locale

    try:
        name = locale.getlocale()[0] or os.environ.get("LANG", "").split(".")[0]
    except ValueError:
        name = os.environ.get("LANG", "").split(".")[0]
    return name.replace("_", "-") if name and name not in ("C", "POSIX") else "en-US"


def _timezone() -> str:
    zone = os.environ.get("TZ")
    if zone:
        return zone.lstrip(":")
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            return target.split("zoneinfo/", 1)[1]
    except OSError:
        pass
    return time.tzname[0] or "UTC"


def platform_context(app_info: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    import platform

    system = platform.system() or "unknown"
    context: Dict[str, Any] = {
        "library": {"name": "segment-statsig", "version": __version__},
        "os": {"name": system, "version": platform.release()},
        "device": {"type": system.lower(), "model": platform.machine()},
        "locale": _locale(),
        "timezone": _timezone(),
    }
    if app_info:
        context["app"] = dict(app_info)
    return context


def merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> Dict[str, Any]:
    """`extra` wins; nested dicts merge."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


class ContextPlugin(Plugin):
    type = PluginType.ENRICHMENT
    prompt = False

    def __init__(self, app_info: Optional[Mapping[str, Any]] = None) -> None:
        self.app_info = app_info
        self.static: Optional[Dict[str, Any]] = None
        self.overrides: Dict[str, Any] = {}

    def set(self, **parts: Any) -> None:
        """More context from the app or a UI toolkit (screen size, device), for later events."""
        self.overrides = merge(self.overrides, parts)
        self.static = None

    def current(self) -> Dict[str, Any]:
        """The context every new event starts from (its own context merges over it)."""
        static = self.static
        if static is None:
            static = self.static = merge(platform_context(self.app_info), self.overrides)
        return static

    def execute(self, event: Event) -> Event:
        static = self.current()
        own = event.get("context")
        event["context"] = merge(static, own) if own else dict(static)
        return event
