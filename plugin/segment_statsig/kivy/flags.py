"""StatsigFlags: the Statsig destination's gates, configs, experiments and layers as Kivy
properties KV rules read, updated on Kivy's main thread, as Statsig's React bindings
(StatsigProvider with useGateValue, useExperiment...) re-render a component.

    app.flags = StatsigFlags(statsig, gates=["new_checkout"])   # on the App, in build()
    Button:
        disabled: not app.flags.gates['new_checkout']   # follows the gate; no exposure

Reading the properties never logs an exposure (values arriving are not the user seeing
them); the methods ``gate()``, ``config()``, ``experiment()`` and ``layer()`` answer as the
destination's own calls do and log it, as do FeatureGate and ExperimentSwitch (gates.py)
when they are shown.
"""
from __future__ import annotations

from kivy.clock import Clock
from kivy.event import EventDispatcher
from kivy.properties import DictProperty, NumericProperty, StringProperty

TYPE_CHECKING = False  # mypy reads the block below; at run time typing stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Iterable, List, Optional

#: the reply's sections -> the property of that kind (names readable only when the reply is unhashed)
SECTIONS = (("feature_gates", "gates"), ("dynamic_configs", "configs"), ("layer_configs", "layers"))
#: get_all_overrides() sections -> the property of that kind
OVERRIDE_SECTIONS = (("gate", "gates"), ("dynamicConfig", "configs"), ("experiment", "experiments"),
                     ("layer", "layers"))
OVERRIDE_SECTION_OF = {kind: section for section, kind in OVERRIDE_SECTIONS}
#: each property's read: the destination's call
READS = {"gates": "get_feature_gate", "configs": "get_config", "experiments": "get_experiment",
         "layers": "get_layer"}
#: the destination listener events after which the values are read again
EVENTS = ("values_updated", "overrides_updated", "user_changed")


class StatsigFlags(EventDispatcher):  # type: ignore[misc]  # (Kivy has no type hints)
    """Observable values of one Statsig destination. Names are followed per kind: those
    given here, those any method, FeatureGate or ExperimentSwitch asked for, every name of
    an unhashed reply, and every override. ``on_check(kind, name)`` is dispatched after
    each call that may log an exposure (a recorder can keep it). With ``prefetch=False``
    nothing here starts fetching values until a method or a shown widget checks one.
    Use it from Kivy's main thread, as any widget."""

    gates = DictProperty({})        # name -> bool
    configs = DictProperty({})      # name -> the config's value dict
    experiments = DictProperty({})  # name -> the experiment's value dict
    layers = DictProperty({})       # name -> the layer's value dict
    reason = StringProperty("Uninitialized")  # where the values come from: Network, Cache, Loading...
    version = NumericProperty(0)    # +1 at every update: a KV rule that reads it runs again

    __events__ = ("on_check",)

    def __init__(self, destination: Any, *, gates: Iterable[str] = (), configs: Iterable[str] = (),
                 experiments: Iterable[str] = (), layers: Iterable[str] = (), prefetch: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.destination = destination
        self._names: Dict[str, List[str]] = {"gates": [], "configs": [], "experiments": [], "layers": []}
        for kind, names in (("gates", gates), ("configs", configs), ("experiments", experiments),
                            ("layers", layers)):
            for name in names:
                self._add(kind, name)
        # Listener events come on the destination's thread: one update at the next frame,
        # however many arrived meanwhile (a Clock trigger may be fired from any thread).
        self._trigger = Clock.create_trigger(lambda _dt: self.update(), 0)
        self._unsubscribe: List[Callable[[], None]] = [
            destination.on(event, lambda _event: self._trigger()) for event in EVENTS]
        if prefetch:  # the values thread starts; values_updated follows
            destination.prefetch_values()
        self.update()

    # --- what the app calls: answers as the destination's, with the exposure ----------
    def gate(self, name: str) -> bool:
        """check_gate(name): logs the exposure (once per user, value and rule)."""
        passes: bool = self.destination.check_gate(name)
        self._asked("gates", name, passes)
        return passes

    def config(self, name: str) -> Any:
        """get_config(name), an Evaluation: .value, .get(key, default), .details; logs the exposure."""
        return self._asked("configs", name, self.destination.get_config(name))

    def experiment(self, name: str) -> Any:
        """get_experiment(name), an Evaluation with .group_name; logs the exposure."""
        return self._asked("experiments", name, self.destination.get_experiment(name))

    def layer(self, name: str) -> Any:
        """get_layer(name): each parameter read with .get() logs its exposure."""
        return self._asked("layers", name, self.destination.get_layer(name))

    def follow(self, kind: str, name: str) -> None:
        """Keep `name` in the property `kind` ("gates", "configs", "experiments", "layers")
        from now on (no exposure); its value is there on return."""
        if self._add(kind, name):
            self.update()

    def unbind_destination(self) -> None:
        """Stop following the destination (the properties keep their last values)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    def on_check(self, kind: str, name: str) -> None:
        pass

    # --- reading the values (main thread; memory reads, no exposure) -------------------
    def update(self) -> None:
        """Read every followed name again; runs at the frame after each listener event."""
        destination = self.destination
        reason = destination.values_reason
        # No values yet: a check would only start the fetch, and answer the default or an override.
        early = reason == "Uninitialized"
        analytics = destination.analytics
        overrides = destination.get_all_overrides() if analytics is not None else {}
        mine = destination.get_all_overrides(user_id=analytics.user_id) if analytics and analytics.user_id else {}
        values = {} if early else destination.get_values() or {}
        names = {kind: list(known) for kind, known in self._names.items()}
        if values.get("hash_used") == "none":  # names in clear: every one is known
            for section, kind in SECTIONS:
                for name, spec in (values.get(section) or {}).items():
                    names[kind].append(name)
                    if kind == "configs" and isinstance(spec, dict) and "is_experiment_active" in spec:
                        names["experiments"].append(name)
        for section, kind in OVERRIDE_SECTIONS:
            names[kind].extend(n for n in (overrides.get(section) or {}) if not n.isdigit())  # (hashed twins)
        for kind, kind_names in names.items():
            fresh = {name: self._unexposed(kind, name, mine if early else None, overrides)
                     for name in dict.fromkeys(kind_names)}
            if fresh != getattr(self, kind):
                setattr(self, kind, fresh)
        self.reason = reason
        self.version += 1

    def _unexposed(self, kind: str, name: str, mine: Optional[Dict[str, Any]], everyone: Dict[str, Any]) -> Any:
        """`name`'s value read without an exposure; with `mine` (the user's overrides, before
        any values came) from the overrides alone, so reading starts no fetch."""
        if mine is None:
            return getattr(self.destination, READS[kind])(name, log_exposure=False).value
        section = OVERRIDE_SECTION_OF[kind]
        default: Any = False if kind == "gates" else {}
        return (mine.get(section) or {}).get(name, (everyone.get(section) or {}).get(name, default))

    def _add(self, kind: str, name: str) -> bool:
        if kind not in self._names:
            raise ValueError(f"kind is one of {', '.join(self._names)}, not {kind!r}")
        if not isinstance(name, str) or not name:
            raise ValueError("a name must be a non-empty str")
        if name in self._names[kind]:
            return False
        self._names[kind].append(name)
        return True

    def _asked(self, kind: str, name: str, answer: Any) -> Any:
        if self._add(kind, name):
            self.update()
        self.dispatch("on_check", kind, name)
        return answer
