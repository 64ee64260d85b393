"""Read the protocol library (`dosing/protocols/*.toml`) into typed, read-only protocol records."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue

_PACKAGE = "ketacare.domain.dosing.protocols"

LimitKind = Literal[
    "mg_per_kg_min", "mg_per_kg_max", "dose_mg_min", "dose_mg_max", "interval_h_min", "sessions_per_week_max"
]
LIMIT_KINDS: tuple[LimitKind, ...] = (
    "mg_per_kg_min",
    "mg_per_kg_max",
    "dose_mg_min",
    "dose_mg_max",
    "interval_h_min",
    "sessions_per_week_max",
)
LIMIT_UNITS: dict[str, str] = {
    "mg_per_kg_min": "mg/kg",
    "mg_per_kg_max": "mg/kg",
    "dose_mg_min": "mg",
    "dose_mg_max": "mg",
    "interval_h_min": "h",
    "sessions_per_week_max": "sessions in 7 days",
}


@dataclass(frozen=True)
class Limit:
    """A soft or hard limit, with its source and note (smart-pump style: soft passable with a reason)."""

    kind: LimitKind
    level: Literal["soft", "hard"]
    value: float
    source: str
    note: str

    @property
    def is_max(self) -> bool:
        """Return True for an upper limit, False for a lower one."""
        return self.kind.endswith("_max")

    @property
    def unit(self) -> str:
        """Return the display unit of this limit."""
        return LIMIT_UNITS[self.kind]


@dataclass(frozen=True)
class Protocol:
    """A dosing protocol from the library; `raw` keeps the full TOML (sources, notes) for display."""

    id: str
    name: str
    drug: str
    route: str
    dosing: Literal["weight", "fixed"]
    default_mg_per_kg: float | None
    default_mg: float | None
    allowed_mg: tuple[float, ...]
    device_mg: float | None
    bioavailability: float | None
    duration_min: float | None
    device_rest_min: float | None
    vial_strengths_mg_per_ml: tuple[float, ...]
    default_vial_strength_mg_per_ml: float | None
    diluent: str
    final_volume_ml: float
    dose_mg_step: float | None
    draw_volume_ml_step: float | None
    rate_ml_per_h_step: float | None
    limits: tuple[Limit, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    def limit(self, kind: LimitKind, level: Literal["soft", "hard"]) -> Limit | None:
        """Return the limit of this kind and level, or None when the protocol sets none."""
        for lim in self.limits:
            if lim.kind == kind and lim.level == level:
                return lim
        return None

    @property
    def is_infusion(self) -> bool:
        """Return True when the protocol is a pump infusion (a final volume given over a duration)."""
        return self.final_volume_ml > 0


def protocol_ids() -> tuple[str, ...]:
    """Return the ids of every protocol in the library, sorted."""
    names = (p.name for p in resources.files(_PACKAGE).iterdir() if p.name.endswith(".toml"))
    return tuple(sorted(n.removesuffix(".toml") for n in names))


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)


def _limits(raw: dict[str, Any]) -> tuple[Limit, ...]:
    out: list[Limit] = []
    for kind, levels in raw.get("limits", {}).items():
        if kind not in LIMIT_KINDS:
            raise ValueError(f"protocol {raw.get('id')}: unknown limit kind {kind!r}")
        for level in ("soft", "hard"):
            if level in levels:
                entry = levels[level]
                out.append(
                    Limit(kind, level, float(entry["value"]), str(entry["source"]), str(entry["note"]))
                )
    return tuple(out)


def load_protocol(protocol_id: str) -> Protocol:
    """Return the protocol `protocol_id` from the library, or refuse an unknown id."""
    if protocol_id not in protocol_ids():
        raise InvalidValue(
            "protocol", f"unknown protocol '{protocol_id}': use one of {', '.join(protocol_ids())}"
        )
    raw = load_toml(_PACKAGE, f"{protocol_id}.toml")
    dose = raw["dose"]
    admin = raw.get("administration", {})
    prep = raw.get("preparation", {})
    rounding = raw.get("rounding", {})
    return Protocol(
        id=str(raw["id"]),
        name=str(raw["name"]),
        drug=str(raw["drug"]),
        route=str(raw["route"]),
        dosing=raw["dosing"],
        default_mg_per_kg=_opt(dose.get("default_mg_per_kg")),
        default_mg=_opt(dose.get("default_mg")),
        allowed_mg=tuple(float(x) for x in dose.get("allowed_mg", ())),
        device_mg=_opt(dose.get("device_mg")),
        bioavailability=_opt(dose.get("bioavailability", {}).get("value")),
        duration_min=_opt(admin.get("duration_min")),
        device_rest_min=_opt(admin.get("device_rest_min")),
        vial_strengths_mg_per_ml=tuple(float(x) for x in prep.get("vial_strengths_mg_per_ml", ())),
        default_vial_strength_mg_per_ml=_opt(prep.get("default_vial_strength_mg_per_ml")),
        diluent=str(prep.get("diluent", "none")),
        final_volume_ml=float(prep.get("final_volume_ml", 0.0)),
        dose_mg_step=_opt(rounding.get("dose_mg_step")),
        draw_volume_ml_step=_opt(rounding.get("draw_volume_ml_step")),
        rate_ml_per_h_step=_opt(rounding.get("rate_ml_per_h_step")),
        limits=_limits(raw),
        raw=raw,
    )


def all_protocols() -> tuple[Protocol, ...]:
    """Return every protocol in the library, sorted by id."""
    return tuple(load_protocol(pid) for pid in protocol_ids())
