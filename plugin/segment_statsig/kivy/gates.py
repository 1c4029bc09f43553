"""Layouts whose children follow a gate or an experiment, as React's useGateValue and
useExperiment render a component: FeatureGate shows its children while the gate passes
(a FeatureGateElse child instead while it fails); ExperimentSwitch shows the Variant of
the experiment's value and gives that value to KV rules.

    FeatureGate:
        gate: 'new_checkout'
        Button:
            text: 'New checkout'
        FeatureGateElse:
            Button:
                text: 'Checkout'

The exposure is logged when the layout is shown to the user (in a window, at the frame
after it got there) and again whenever the value it shows changes while it is shown (at
once, in the frame its KV neighbours change): the
destination logs once per user, value and rule. Values arriving for a layout that is not
shown (another screen, not yet added) log nothing; it reads them again when it is shown.
"""
from __future__ import annotations

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

TYPE_CHECKING = False  # mypy reads the block below; at run time typing stays unloaded
if TYPE_CHECKING:
    from typing import Any, List, Optional, Tuple


class FlagLayout(BoxLayout):  # type: ignore[misc]  # (Kivy has no type hints)
    """What FeatureGate and ExperimentSwitch share: the StatsigFlags they read (``flags``,
    else the running App's ``flags``), knowing when they are shown, and holding the
    children the value does not want out of the layout."""

    flags = ObjectProperty(None, allownone=True)
    shown = BooleanProperty(False)  # in a window, so the user sees it (read-only)

    def __init__(self, **kwargs: Any) -> None:
        self._content: List[Widget] = []  # every child the app gave, in order
        self._placing = False
        self._chain: List[Tuple[Any, int]] = []  # (ancestor, its parent binding)
        self._flags_binding: Optional[Tuple[Any, int]] = None
        self._render_trigger = Clock.create_trigger(lambda _dt: self._render_now(), 0)
        self._rendering = False
        super().__init__(**kwargs)
        self.fbind("flags", self._render_trigger)
        self._follow_ancestors()

    # --- the children: every one kept, the wanted ones placed ----------------------------
    def add_widget(self, widget: Widget, *args: Any, **kwargs: Any) -> None:
        if self._placing:
            super().add_widget(widget, *args, **kwargs)
            return
        self._content.append(widget)
        self._place()

    def remove_widget(self, widget: Widget, *args: Any, **kwargs: Any) -> None:
        if not self._placing and widget in self._content:
            self._content.remove(widget)
        if widget in self.children:
            super().remove_widget(widget, *args, **kwargs)

    def wants(self, widget: Widget) -> bool:
        raise NotImplementedError

    def _place(self) -> None:
        wanted = [w for w in self._content if self.wants(w)]
        if wanted == list(reversed(self.children)):
            return
        self._placing = True
        try:
            for child in list(self.children):
                super().remove_widget(child)
            for child in wanted:
                super().add_widget(child)
        finally:
            self._placing = False

    # --- shown: every ancestor's parent followed, up to the window ---------------------
    def _follow_ancestors(self, *_args: Any) -> None:
        for ancestor, uid in self._chain:
            ancestor.unbind_uid("parent", uid)
        self._chain = []
        widget: Any = self
        while isinstance(widget, Widget):
            self._chain.append((widget, widget.fbind("parent", self._follow_ancestors)))
            widget = widget.parent
        self.shown = widget is not None  # the chain ends at the window, or at None off-screen
        self._render_trigger()

    def _flags(self) -> Any:
        """The StatsigFlags read; followed (every update re-renders) only while shown, so
        a layout taken off the screen is not kept alive by the flags it read."""
        flags = self.flags
        if flags is None:
            flags = getattr(App.get_running_app(), "flags", None)
        wanted = flags if self.shown else None
        binding = self._flags_binding
        if (binding[0] if binding else None) is not wanted:
            if binding is not None:
                binding[0].unbind_uid("version", binding[1])
            self._flags_binding = (wanted, wanted.fbind("version", self._render_now)) if wanted else None
        return flags

    def _render_now(self, *_args: Any) -> None:
        """At once on new values (the same frame as the KV rules that read them); a render
        that itself made the values update comes back at the next frame."""
        if self._rendering:
            self._render_trigger()
            return
        self._rendering = True
        try:
            self._render()
        finally:
            self._rendering = False

    def _render(self) -> None:
        raise NotImplementedError


class FeatureGateElse(BoxLayout):  # type: ignore[misc]
    """A FeatureGate's child shown while the gate fails (React: the other branch)."""


class FeatureGate(FlagLayout):
    """Children shown while `gate` passes; a FeatureGateElse child while it fails.
    ``passes`` is the value shown, for the KV rules of the children."""

    gate = StringProperty("")
    passes = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fbind("gate", self._render_trigger)

    def wants(self, widget: Widget) -> bool:
        return isinstance(widget, FeatureGateElse) != bool(self.passes)

    def _render(self) -> None:
        flags = self._flags()
        if flags is None or not self.gate:
            return
        if self.shown:  # the user sees the value: the check that logs the exposure
            self.passes = flags.gate(self.gate)
        else:
            flags.follow("gates", self.gate)
            self.passes = bool(flags.gates.get(self.gate, False))
        self._place()


class Variant(BoxLayout):  # type: ignore[misc]
    """An ExperimentSwitch's child shown when the switch's value equals `value`; the one
    with `default` True when no other matches."""

    value = ObjectProperty(None, allownone=True)
    default = BooleanProperty(False)


class ExperimentSwitch(FlagLayout):
    """The Variant child matching `experiment`'s `parameter` (empty: the group name);
    ``value`` holds it (None until known) for KV rules, ``group_name`` the user's group.
    Children that are not a Variant are always shown."""

    experiment = StringProperty("")
    parameter = StringProperty("")
    value = ObjectProperty(None, allownone=True)
    group_name = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fbind("experiment", self._render_trigger)
        self.fbind("parameter", self._render_trigger)

    def wants(self, widget: Widget) -> bool:
        if not isinstance(widget, Variant):
            return True
        variants = [w for w in self._content if isinstance(w, Variant)]
        match = next((w for w in variants if w.value is not None and w.value == self.value), None)
        if match is None:
            match = next((w for w in variants if w.default), None)
        return widget is match

    def _render(self) -> None:
        flags = self._flags()
        if flags is None or not self.experiment:
            return
        if self.shown:  # the user sees the variant: the read that logs the exposure
            evaluation = flags.experiment(self.experiment)
            values, group = evaluation.value, evaluation.group_name
        else:
            flags.follow("experiments", self.experiment)
            values, group = flags.experiments.get(self.experiment, {}), None
        self.group_name = group or ""
        self.value = values.get(self.parameter) if self.parameter else group
        self._place()
