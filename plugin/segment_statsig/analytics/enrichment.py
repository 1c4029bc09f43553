"""Enrichment as a plain function: a plugin made of one (analytics-swift's
add(enrichment:)), and the check of a per-call one (analytics-kotlin's enrichment
closures; Analytics keeps those in memory, by message id, until the timeline worker
processes that call: an event replayed after a kill goes without it)."""
from __future__ import annotations

from .plugin import Plugin
from .plugin_types import PluginType
from .timeline import run_closure

TYPE_CHECKING = False  # mypy reads the block below; at run time typing stays unloaded
if TYPE_CHECKING:
    from typing import Callable, Optional

    from .._typing import Event

    Enrichment = Callable[[Event], Optional[Event]]


class ClosurePlugin(Plugin):
    """An enrichment plugin that runs `fn(event) -> event or None` on every event."""

    type = PluginType.ENRICHMENT
    prompt = False  # a function on the way through: batches suit it

    def __init__(self, fn: Enrichment) -> None:
        if not callable(fn):
            raise TypeError(f"an enrichment must be callable: fn(event) -> event or None, not {fn!r}")
        self.fn = fn

    def execute(self, event: Event) -> Optional[Event]:
        return run_closure(self.fn, event)

    def __repr__(self) -> str:
        return f"<ClosurePlugin {getattr(self.fn, '__qualname__', self.fn)!r}>"


def checked(fn: Optional[Enrichment]) -> Optional[Enrichment]:
    """The caller's `enrichment=` argument: None or a callable (a programmer error else)."""
    if fn is not None and not callable(fn):
        raise TypeError(f"enrichment must be callable: fn(event) -> event or None, not {fn!r}")
    return fn

