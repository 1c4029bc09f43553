"""The Flags screen: the QA view Statsig's mobile SDKs open as a debug view. Every gate,
dynamic config, experiment, layer and parameter store of the current user's values, with
its value and reason, and an override for each (a switch for a gate, JSON for the others),
kept across restarts by the destination. It follows app.flags (a KV rule on its version:
new values, an override, another user), on Kivy's main thread.
"""
from __future__ import annotations

import json

from kivy.app import App
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen

from segment_statsig.statsig.initialize_reply import hash_name

from .widgets import Card

#: reply section -> (the kind a row shows, the override call's kind)
SECTIONS = (("feature_gates", "gate"), ("dynamic_configs", "config"), ("layer_configs", "layer"),
            ("param_stores", "parameter_store"))
OVERRIDE_SECTIONS = {"gate": "gate", "config": "dynamicConfig", "experiment": "experiment", "layer": "layer",
                     "parameter_store": "paramStore"}


def flag_rows(destination, known_names):
    """One dict per entry of the current values (and per override of a name they lack):
    kind, name (the hash when the app does not know the name), value text, reason, overridden."""
    values = destination.get_values() or {}
    algorithm = str(values.get("hash_used", "djb2"))
    names = {hash_name(n, algorithm): n for n in known_names}
    names.update({n: n for n in known_names})
    overrides = destination.get_all_overrides()
    rows, seen = [], set()
    for section, kind in SECTIONS:
        for key, spec in sorted((values.get(section) or {}).items()):
            name = names.get(key, key)
            experiment = kind == "config" and isinstance(spec, dict) and "is_experiment_active" in spec
            kind_shown = "experiment" if experiment else kind
            rows.append(_row(destination, kind_shown, name, overrides))
            seen.add((kind_shown, name))
    for kind, section in OVERRIDE_SECTIONS.items():
        for name in sorted(overrides.get(section) or {}):
            if (kind, name) not in seen and not name.isdigit():  # (the JS adapter's hashed twin)
                rows.append(_row(destination, kind, name, overrides))
    return rows


def _row(destination, kind, name, overrides):
    overridden = name in (overrides.get(OVERRIDE_SECTIONS[kind]) or {})
    if kind == "parameter_store":
        store = destination.get_parameter_store(name, log_exposure=False)
        value, reason = {p: store.get(p) for p in sorted(store.configuration or {})}, store.details["reason"]
    else:
        get = {"gate": destination.get_feature_gate, "config": destination.get_config,
               "experiment": destination.get_experiment, "layer": destination.get_layer}[kind]
        evaluation = get(name, log_exposure=False)
        value, reason = evaluation.value, evaluation.details["reason"]
    return {"kind": kind, "name": name, "value": value, "reason": reason, "overridden": overridden,
            "value_text": json.dumps(value, sort_keys=True)}


class FlagRow(Card):
    kind = StringProperty("")
    name = StringProperty("")
    value_text = StringProperty("")
    reason = StringProperty("")
    overridden = BooleanProperty(False)
    passes = BooleanProperty(False)   # a gate's value
    screen = ObjectProperty(None)


class FlagsScreen(Screen):
    note = StringProperty("")
    user_text = StringProperty("")
    values_version = NumericProperty(0)  # app.flags.version, by the KV rule

    def on_values_version(self, *_):
        if self.manager is not None and self.manager.current == self.name:  # else on_pre_enter does it
            self.refresh()

    def on_pre_enter(self, *_):
        self.refresh()

    def refresh(self):
        app = App.get_running_app()
        destination = _destination()
        self.user_text = f"{app.analytics.user_id or 'anonymous'}: {destination.values_reason}"
        rows = self.ids.rows
        rows.clear_widgets()
        for row in flag_rows(destination, app.backend.known_flags):
            rows.add_widget(FlagRow(kind=row["kind"], name=row["name"], value_text=row["value_text"],
                                    reason=row["reason"], overridden=row["overridden"],
                                    passes=row["value"] is True, screen=self))

    def override_gate(self, name, value):
        _destination().override_gate(name, bool(value))
        self._done(f'override_gate("{name}", {bool(value)}): kept across restarts')

    def override_json(self, kind, name, text):
        try:
            value = json.loads(text)
            getattr(_destination(), f"override_{kind}")(name, value)
        except (ValueError, TypeError) as error:
            self.note = f"Not an override for {name}: {error}"
            return
        self._done(f"override_{kind}(\"{name}\", {text.strip()})")

    def remove(self, kind, name):
        getattr(_destination(), f"remove_{kind}_override")(name)
        self._done(f'remove_{kind}_override("{name}")')

    def _done(self, what):
        self.note = what  # (the rows follow at the next frame: app.flags.version, by the KV rule)
        App.get_running_app().tell(f"{what}.")


def _destination():
    return App.get_running_app().backend.destination
