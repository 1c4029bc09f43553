"""One answer read from Statsig's values: a feature gate, a dynamic config, an
experiment or a layer, as the app sees it (``check_gate`` returns its value;
``get_config`` / ``get_experiment`` / ``get_layer`` return it whole)."""
from __future__ import annotations

TYPE_CHECKING = False  # mypy reads the block below; at run time typing (milliseconds) stays unloaded
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Iterable, List, Optional


class Evaluation:
    """One answer: a gate, a dynamic config, an experiment or a layer.

    ``value`` (bool for a gate, dict otherwise), ``rule_id``, ``group_name`` (experiments),
    ``evaluation_reason`` (Uninitialized / Loading / NoValues / Cache / Network / NetworkNotModified /
    Bootstrap / Prefetch), ``recognized`` (False when the values did not hold this name),
    ``details`` (reason, lcut, received_at, warnings: the JS client's EvaluationDetails),
    ``get(key, default)``.
    A layer also carries what its exposures need: ``explicit_parameters``,
    ``allocated_experiment`` and ``undelegated_secondary_exposures``.
    """

    __slots__ = ("kind", "name", "value", "rule_id", "group_name", "evaluation_reason", "recognized",
                 "id_type", "secondary_exposures", "time", "explicit_parameters", "allocated_experiment",
                 "undelegated_secondary_exposures", "received_at", "on_get", "warnings", "forced_reason",
                 "bootstrap_metadata")

    def __init__(self, kind: str, name: str, value: Any, rule_id: str = "", group_name: Optional[str] = None,
                 evaluation_reason: str = "Uninitialized", recognized: bool = False, id_type: Optional[str] = None,
                 secondary_exposures: Iterable[Dict[str, Any]] = (), time: Optional[int] = None,
                 explicit_parameters: Iterable[str] = (), allocated_experiment: str = "",
                 undelegated_secondary_exposures: Iterable[Dict[str, Any]] = (), received_at: Optional[int] = None,
                 on_get: Optional[Callable[["Evaluation", str], None]] = None) -> None:
        self.kind, self.name, self.value = kind, name, value
        self.rule_id, self.group_name = rule_id, group_name
        self.evaluation_reason, self.recognized = evaluation_reason, recognized
        self.id_type, self.time = id_type, time
        self.secondary_exposures: List[Dict[str, Any]] = list(secondary_exposures)
        self.explicit_parameters: List[str] = list(explicit_parameters)
        self.allocated_experiment = allocated_experiment
        self.undelegated_secondary_exposures: List[Dict[str, Any]] = list(undelegated_secondary_exposures)
        self.received_at = received_at  # when these values were received (ms), for exposures
        self.on_get = on_get  # called with (self, key) when get() reads a value: a layer logs its exposure
        self.warnings: List[str] = []  # e.g. PartialUserMatch: bootstrap values made for another user
        self.forced_reason: Optional[str] = None  # an override adapter's reason (LocalOverride:Recognized)
        self.bootstrap_metadata: Optional[Dict[str, Any]] = None  # what exposures of bootstrap values carry

    def get(self, key: str, default: Any = None) -> Any:
        """``value[key]``; ``default`` when absent, null, or (with a non-None default)
        of another JSON type than ``default``."""
        value = self.value.get(key) if isinstance(self.value, dict) else None
        if value is None or (default is not None and not _same_kind(value, default)):
            return default
        if self.on_get is not None:
            self.on_get(self, key)
        return value

    @property
    def reason(self) -> str:
        """As exposures carry it: ``Network:Recognized``; bootstrap values with a warning
        name it first, as the JS client does (``BootstrapPartialUserMatch:Recognized``)."""
        if self.forced_reason is not None:
            return self.forced_reason
        source = self.evaluation_reason
        if source == "Bootstrap" and self.warnings:
            source += self.warnings[0]
        return f"{source}:{'Recognized' if self.recognized else 'Unrecognized'}"

    @property
    def details(self) -> Dict[str, Any]:
        """The JS client's EvaluationDetails: reason, lcut (the values' time), received_at
        (when they arrived, ms) and warnings."""
        return {"reason": self.reason, "lcut": self.time, "received_at": self.received_at,
                "warnings": list(self.warnings)}

    def __repr__(self) -> str:
        return (f"<Statsig {self.kind} {self.name!r} value={self.value!r} rule_id={self.rule_id!r} "
                f"group_name={self.group_name!r} reason={self.evaluation_reason}>")


def _same_kind(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))
    return isinstance(value, type(default)) or isinstance(default, type(value))


def from_spec(kind: str, name: str, spec: Optional[Dict[str, Any]], reason: str, received: Optional[int],
              received_at: Optional[int] = None) -> Evaluation:
    """The Evaluation of `name` from its spec in the initialize reply (None: not there)."""
    spec = spec or {}
    if kind == "gate":
        value: Any = spec["value"] if spec else False
    else:
        value = dict(spec["value"]) if spec else {}
    return Evaluation(kind, name, value, rule_id=spec.get("rule_id") or "", group_name=spec.get("group_name"),
                      evaluation_reason=reason, recognized=bool(spec), id_type=spec.get("id_type"),
                      secondary_exposures=spec.get("secondary_exposures") or (), time=received,
                      received_at=received_at,
                      explicit_parameters=spec.get("explicit_parameters") or (),
                      allocated_experiment=spec.get("allocated_experiment_name") or "",
                      undelegated_secondary_exposures=spec.get("undelegated_secondary_exposures") or ())
