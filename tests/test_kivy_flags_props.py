"""StatsigFlags and the FeatureGate / ExperimentSwitch children, without a window: for any
sequence of overrides (for everyone, for the user), the properties hold what the
destination's own checks answer, also before any values came (when reading them must start
no fetch); and a layout places exactly the children its value wants, in their order."""
import os
import tempfile

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_FILELOG", "1")
os.environ.setdefault("KIVY_NO_CONFIG", "1")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402
from kivy.uix.label import Label  # noqa: E402

from segment_statsig.kivy import (ExperimentSwitch, FeatureGate, FeatureGateElse, StatsigFlags,  # noqa: E402
                                  Variant)

NAMES = ["a", "b", "c"]
OPS = st.lists(st.tuples(st.sampled_from(["set", "remove", "remove_all"]), st.sampled_from(NAMES),
                         st.booleans(), st.sampled_from([None, "u1"])), max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS, identified=st.booleans(), configs=st.lists(st.sampled_from(NAMES), max_size=3))
def test_flags_hold_what_the_destination_answers_for_any_overrides(make_client, fake_statsig, ops, identified,
                                                                   configs):
    analytics, dest = make_client(storage_dir=tempfile.mkdtemp())
    fetched = len(fake_statsig.initialize_requests)  # (the fake serves every example of the test)
    if identified:
        analytics.identify("u1")
    flags = StatsigFlags(dest, gates=NAMES, configs=NAMES, prefetch=False)
    for op, name, value, user_id in ops:
        if op == "set":
            dest.override_gate(name, value, user_id=user_id)
        elif op == "remove":
            dest.remove_gate_override(name, user_id=user_id)
        else:
            dest.remove_all_overrides(user_id=user_id)
    for name in configs:
        dest.override_config(name, {"n": name})
    flags.update()
    assert (dest.values_reason, len(fake_statsig.initialize_requests)) == ("Uninitialized", fetched)  # no fetch
    early = dict(flags.gates), dict(flags.configs)
    answers = ({n: dest.get_feature_gate(n, log_exposure=False).value for n in NAMES},
               {n: dest.get_config(n, log_exposure=False).value for n in NAMES})
    assert early == answers
    assert dest.wait_for_values(5)
    flags.update()  # the same, once values (which hold none of these names) came
    assert (dict(flags.gates), dict(flags.configs)) == answers and flags.reason == "Network"


CHILD = st.sampled_from(["plain", "else"])


@given(kinds=st.lists(CHILD, max_size=6), values=st.lists(st.booleans(), min_size=1, max_size=4))
def test_a_feature_gate_places_the_children_its_value_wants_in_order(kinds, values):
    gate = FeatureGate()
    children = [FeatureGateElse() if kind == "else" else Label() for kind in kinds]
    for child in children:
        gate.add_widget(child)
    for passes in values:
        gate.passes = passes
        gate._place()
        assert list(reversed(gate.children)) == [c for c in children if isinstance(c, FeatureGateElse) != passes]
    if children:  # a child the app removes stays out, whatever the value
        gate.remove_widget(children[0])
        gate.passes = not gate.passes
        gate._place()
        assert children[0] not in gate.children


@given(variants=st.lists(st.sampled_from(["red", "blue", None]), max_size=5),
       has_default=st.booleans(), value=st.sampled_from(["red", "blue", "green", None]))
def test_an_experiment_switch_shows_the_matching_variant_else_the_default(variants, has_default, value):
    switch = ExperimentSwitch()
    made = [Variant(value=v) for v in variants]
    default = Variant(default=True) if has_default else None
    always = Label()
    for child in [*made, *([default] if default else []), always]:
        switch.add_widget(child)
    switch.value = value
    switch._place()
    match = next((v for v in made if v.value is not None and v.value == value), default)
    assert list(reversed(switch.children)) == [c for c in [*made, default, always] if c is not None
                                               and (c is always or c is match)]
