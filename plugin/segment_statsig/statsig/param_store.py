"""Parameter stores, resolved exactly as the JS client's ParamStoreGetterFactory: each
parameter of a store (``param_stores`` in the initialize reply) is a reference, and one
small function per reference type gives its value: ``static`` (the value itself), ``gate``
(pass or fail value by the gate), ``dynamic_config`` / ``experiment`` / ``layer`` (a
parameter of that config, experiment or layer). A default of another type than the
parameter's answers the default; evaluating a reference logs its exposure unless the
store was got with ``log_exposure=False``."""
from __future__ import annotations

from .initialize_reply import hash_name
from .overrides import REASON as OVERRIDE_REASON

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Optional, Tuple

    from .evaluation import Evaluation
    from .feature_store import FeatureStore

    #: (kind, name, log_exposure) -> the Evaluation, as the destination's checks give it
    Evaluate = Callable[[str, str, bool], Evaluation]


def lookup_store(values: Optional[Dict[str, Any]], name: str) -> Optional[Dict[str, Any]]:
    """Store `name`'s configuration in a reply: by the name as hashed (``hash_used``) or plain."""
    stores = values.get("param_stores") if values else None
    if not isinstance(stores, dict):
        return None
    found = stores.get(name)
    if found is None:
        found = stores.get(hash_name(name, str((values or {}).get("hash_used", "djb2"))))
    return found if isinstance(found, dict) else None


def type_of(value: Any) -> str:
    """JavaScript's name of a JSON value's type, as the JS client's _typeOf."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"  # (null too, as JavaScript's typeof says)


def _type_match(a: Any, b: Any) -> bool:
    """The JS client's _isTypeMatch: null is its own type."""
    return (None if a is None else type_of(a)) == (None if b is None else type_of(b))


def _static(param: Dict[str, Any], evaluate: Evaluate, expose: bool, default: Any) -> Any:
    return param.get("value")


def _gate(param: Dict[str, Any], evaluate: Evaluate, expose: bool, default: Any) -> Any:
    passes = evaluate("gate", str(param.get("gate_name")), expose).value
    return param.get("pass_value") if passes else param.get("fail_value")


def _parameter_of(kind: str, field: str) -> Callable[[Dict[str, Any], Evaluate, bool, Any], Any]:
    def resolve(param: Dict[str, Any], evaluate: Evaluate, expose: bool, default: Any) -> Any:
        value = evaluate(kind, str(param.get(field)), expose).get(str(param.get("param_name")))
        return default if default is not None and not _type_match(value, default) else value
    return resolve


RESOLVERS = {
    "static": _static,
    "gate": _gate,
    "dynamic_config": _parameter_of("config", "config_name"),
    "experiment": _parameter_of("experiment", "experiment_name"),
    "layer": _parameter_of("layer", "layer_name"),
}


class ParameterStore:
    """``get(parameter, default)``; ``name``, ``details`` (reason, lcut, received_at,
    warnings) and ``configuration`` (the parameters' references) as the values gave them."""

    __slots__ = ("name", "details", "configuration", "_evaluate", "_expose")

    def __init__(self, name: str, details: Dict[str, Any], configuration: Optional[Dict[str, Any]],
                 evaluate: Evaluate, expose: bool) -> None:
        self.name, self.details, self.configuration = name, details, configuration
        self._evaluate, self._expose = evaluate, expose

    def get(self, parameter: str, default: Any = None) -> Any:
        param = (self.configuration or {}).get(parameter)
        if not isinstance(param, dict) or (default is not None and type_of(default) != param.get("param_type")):
            return default
        resolve = RESOLVERS.get(str(param.get("ref_type")))
        return default if resolve is None else resolve(param, self._evaluate, self._expose, default)

    def __repr__(self) -> str:
        return f"<Statsig parameter store {self.name!r} reason={self.details.get('reason')}>"


def with_overrides(configuration: Optional[Dict[str, Any]], overridden: Dict[str, Any]) -> Dict[str, Any]:
    """An override of a store, as the JS local-overrides adapter makes it: each overridden
    parameter becomes a static one of the value's type, over the store's own."""
    merged = dict(configuration or {})
    for key, value in overridden.items():
        merged[key] = {"ref_type": "static", "param_type": type_of(value), "value": value}
    return merged


def resolve_store(store: FeatureStore, name: str) -> Tuple[Optional[Dict[str, Any]], Dict[str, Any]]:
    """(parameter store `name`'s configuration in the current user's values or None, its
    details), as the JS client's store lookup gives them; an override replaces both."""
    if not isinstance(name, str) or not name:
        raise ValueError("a parameter store name must be a non-empty str")
    ev, _, _ = store.read("gate", name)  # the source, lcut and warnings of the values in use
    configuration = lookup_store(store.current_values(), name)
    ev.recognized, ev.forced_reason = configuration is not None, None
    details = ev.details
    overridden = store.overrides.find("param_store", name, store.identity_fn()[0]) if store.overrides else None
    if overridden is not None:
        configuration, details["reason"] = with_overrides(configuration, overridden), OVERRIDE_REASON
    return configuration, details
