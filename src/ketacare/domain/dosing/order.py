"""Dose-order arithmetic: mg/kg -> mg, preparation, pump rate, end time, limit checks and the double check.

Rounding is stated in each protocol's `[rounding]` table and applied once: a dose computed from mg/kg is
rounded to the nearest amount the chosen vial and syringe can draw (never across a hard limit: it is rounded
toward the limit instead) and the order keeps both values; a dose the prescriber entered in mg is given exactly
or refused with the nearest preparable doses (`DoseNotPreparable`), never changed. The pump rate is rounded to
the pump's step; draw volume, concentration and delivered mg/kg are derived from the dose. Limits follow
smart-pump drug libraries: a soft limit is passed only with a stated reason, a hard limit never (the order is
refused with `OrderRefused`). Units: kg, cm, mg, mL, mL/h, minutes, hours. Times are passed in.
Sources cite keys of `domain/bibliography.toml`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, Literal

from ketacare.domain.datafiles import load_toml
from ketacare.domain.dosing.body_weight import (
    DosingWeights,
    FreshnessRules,
    WeightBasis,
    WeightBasisPolicy,
    choice_required,
    choose_weight_basis,
    dosing_weights,
    weight_basis_policy,
    weight_confirmations,
)
from ketacare.domain.dosing.protocol import Limit, Protocol, load_protocol
from ketacare.domain.errors import InvalidValue

Level = Literal["soft", "hard"]
_EPS = 1e-9


def _order_data() -> dict[str, Any]:
    return load_toml("ketacare.domain.dosing", "order.toml")


@dataclass(frozen=True)
class LimitMessage:
    """A limit finding: soft (passable with a reason) or hard (never), with the rule, source and value."""

    level: Level
    rule: str
    field: str
    message: str
    value: float | None
    limit: float | None
    unit: str
    source: str
    reason: str | None = None


class OrderRefused(InvalidValue):
    """The order was refused: a hard limit, or a soft limit / weight confirmation with no stated reason."""

    def __init__(self, messages: Sequence[LimitMessage]) -> None:
        self.messages = tuple(messages)
        blocking = [m for m in self.messages if m.level == "hard"] or [
            m for m in self.messages if m.reason is None
        ]
        first = blocking[0] if blocking else self.messages[0]
        super().__init__(first.field, "; ".join(m.message for m in blocking or self.messages))


class DoseNotPreparable(InvalidValue):
    """An entered dose cannot be measured exactly with the chosen strength; `nearest_mg` are the doses that can."""

    def __init__(self, field: str, message: str, nearest_mg: tuple[float, ...]) -> None:
        super().__init__(field, message)
        self.nearest_mg = nearest_mg


@dataclass(frozen=True)
class DoseRequest:
    """What a prescriber enters for one session (already parsed to kg/cm; times passed in, no clock)."""

    protocol_id: str
    start: datetime
    weight_kg: float | None = None
    height_cm: float | None = None
    sex: str | None = None
    weight_measured_at: datetime | None = None
    previous_weight_kg: float | None = None
    weight_confirmation: str | None = None
    weight_basis: str | None = None
    weight_basis_reason: str | None = None
    mg_per_kg: float | None = None
    dose_mg: float | None = None
    vial_strength_mg_per_ml: float | None = None
    age_years: int | None = None
    session_number: int | None = None
    previous_session_starts: tuple[datetime, ...] = ()
    soft_limit_reason: str | None = None


@dataclass(frozen=True)
class CandidateDose:
    """The dose (mg) one weight basis would give; `dose_mg` is None when a hard limit would refuse it.

    `mg_per_kg_actual` is that dose per kg of ACTUAL body weight (the trials dosed on actual weight);
    `policy` marks the clinic policy's recommendation."""

    basis: WeightBasis
    weight_kg: float
    dose_mg: float | None
    chosen: bool
    policy: bool
    limit_level: Level | None
    note: str = ""
    mg_per_kg_actual: float | None = None

    @property
    def recommended(self) -> bool:
        """Return True for the basis the clinic policy recommends."""
        return self.policy


@dataclass(frozen=True)
class WeightBasisOptions:
    """The candidate doses a prescriber chooses from (actual, adjusted, ideal), with the policy's
    recommendation; `choice_required` is True at or above the BMI threshold."""

    bmi_kg_per_m2: float
    bmi_threshold: float
    recommended: WeightBasis
    choice_required: bool
    mg_per_kg: float
    candidates: tuple[CandidateDose, ...]
    policy_source: str
    policy_note: str

    def as_dict(self) -> dict[str, Any]:
        """Return the options as JSON-ready primitives."""
        out = asdict(self)
        for c, raw in zip(out["candidates"], self.candidates, strict=True):
            c["recommended"] = raw.recommended
        return out


@dataclass(frozen=True)
class Preparation:
    """How to prepare the dose: vial strength, volume to draw, diluent, final volume and concentration."""

    form: str
    vial_strength_mg_per_ml: float | None
    draw_volume_ml: float | None
    diluent: str
    diluent_volume_ml: float
    final_volume_ml: float | None
    final_concentration_mg_per_ml: float | None
    devices: int | None = None
    device_mg: float | None = None


@dataclass(frozen=True)
class RoundingApplied:
    """One rounding step: which quantity, from what to what, the step and the rule."""

    quantity: str
    raw: float
    rounded: float
    step: float
    rule: str


@dataclass(frozen=True)
class DoseOrder:
    """A computed dose order: to store (weight, basis, mg/kg, mg, preparation, rate, limits)."""

    protocol_id: str
    drug: str
    route: str
    start: datetime
    end: datetime
    duration_min: float
    dose_mg: float
    mg_per_kg: float | None
    delivered_mg_per_kg: float | None
    weight_kg: float | None
    weight_measured_at: datetime | None
    dosing_weight_kg: float | None
    weight_basis: WeightBasis | None
    policy_weight_basis: WeightBasis | None
    weight_basis_overridden: bool
    weight_basis_reason: str | None
    weight_basis_chosen: bool
    mg_per_kg_actual: float | None
    computed_dose_mg: float | None
    bmi_kg_per_m2: float | None
    candidates: tuple[CandidateDose, ...]
    preparation: Preparation
    rate_ml_per_h: float | None
    volume_ml: float | None
    messages: tuple[LimitMessage, ...]
    soft_limit_reason: str | None
    weight_confirmation: str | None
    rounding: tuple[RoundingApplied, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """Return the order as JSON-ready primitives (datetimes as ISO 8601 strings)."""

        def conv(v: Any) -> Any:
            if isinstance(v, datetime):
                return v.isoformat()
            if isinstance(v, dict):
                return {k: conv(x) for k, x in v.items()}
            if isinstance(v, list | tuple):
                return [conv(x) for x in v]
            return v

        primitives: dict[str, Any] = conv(asdict(self))
        return primitives


def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def round_to_step(value: float, step: float, mode: Literal["nearest", "down", "up"] = "nearest") -> float:
    """Return `value` rounded to a multiple of `step` (half up for nearest), computed in decimal."""
    how = {"nearest": ROUND_HALF_UP, "down": ROUND_FLOOR, "up": ROUND_CEILING}[mode]
    n = (_dec(value) / _dec(step)).to_integral_value(rounding=how)
    return float(n * _dec(step))


def _positive(value: float | None, field_: str, noun: str) -> float:
    if value is None or isinstance(value, bool):
        raise InvalidValue(field_, f"{noun} is required")
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidValue(field_, f"'{value}' is not a number") from exc
    if not math.isfinite(v) or v <= 0:
        raise InvalidValue(field_, f"{noun} must be a positive number (got {value})")
    return v


def _reason(text: str | None) -> str | None:
    return str(text).strip() or None if text is not None else None


def _limit_message(
    protocol: Protocol, lim: Limit, value: float, field_: str, what: str
) -> LimitMessage | None:
    over = value > lim.value + _EPS if lim.is_max else value < lim.value - _EPS
    if not over:
        return None
    side = "above" if lim.is_max else "below"
    tail = "refused: a hard limit is never exceeded" if lim.level == "hard" else "state a reason to proceed"
    return LimitMessage(
        level=lim.level,
        rule=f"{protocol.id}.limits.{lim.kind}.{lim.level}",
        field=field_,
        message=(
            f"{what} {value:g} {lim.unit} is {side} the {lim.level} limit {lim.value:g} {lim.unit} "
            f"for {protocol.id} ({lim.note}); {tail}"
        ),
        value=value,
        limit=lim.value,
        unit=lim.unit,
        source=lim.source,
    )


def _check(
    protocol: Protocol, kinds: Sequence[str], value: float, field_: str, what: str
) -> list[LimitMessage]:
    out = []
    for kind in kinds:
        for level in ("hard", "soft"):
            lim = protocol.limit(kind, level)  # type: ignore[arg-type]
            if lim is not None:
                msg = _limit_message(protocol, lim, value, field_, what)
                if msg is not None:
                    out.append(msg)
                    break  # a hard finding makes the soft one of the same kind redundant
    return out


def _dose_step(protocol: Protocol, strength: float | None) -> float:
    step = protocol.dose_mg_step or 0.0
    if strength is not None and protocol.draw_volume_ml_step:
        step = max(step, round(strength * protocol.draw_volume_ml_step, 9))
    if step <= 0:
        raise ValueError(f"protocol {protocol.id} has no dose rounding step")
    return step


def _hard_bounds_mg(protocol: Protocol, dosing_weight_kg: float | None) -> tuple[float, float]:
    lo, hi = 0.0, math.inf
    if (lim := protocol.limit("dose_mg_max", "hard")) is not None:
        hi = min(hi, lim.value)
    if (lim := protocol.limit("dose_mg_min", "hard")) is not None:
        lo = max(lo, lim.value)
    if dosing_weight_kg is not None:
        if (lim := protocol.limit("mg_per_kg_max", "hard")) is not None:
            hi = min(hi, lim.value * dosing_weight_kg)
        if (lim := protocol.limit("mg_per_kg_min", "hard")) is not None:
            lo = max(lo, lim.value * dosing_weight_kg)
    return lo, hi


def _round_dose(raw_mg: float, step: float, lo: float, hi: float) -> float:
    """Round once to the nearest step; if that crosses a hard bound, round toward the bound instead.

    A raw dose beyond a hard bound is refused by the limit check; the clamp keeps even a draft within it."""
    dose = round_to_step(raw_mg, step)
    if dose > hi:
        dose = round_to_step(min(raw_mg, hi), step, "down")
    elif dose < lo:
        dose = round_to_step(max(raw_mg, lo), step, "up")
    return dose


def _weight_dose(
    protocol: Protocol, mg_per_kg: float, weight_kg: float, step: float
) -> tuple[float, list[LimitMessage]]:
    msgs = _check(protocol, ("mg_per_kg_min", "mg_per_kg_max"), mg_per_kg, "mg_per_kg", "dose")
    raw = mg_per_kg * weight_kg
    lo, hi = _hard_bounds_mg(protocol, weight_kg)
    dose = _round_dose(raw, step, lo, hi)
    # limits see the computed dose as well as the rounded one: rounding never carries a dose under a limit
    msgs += _check(protocol, ("dose_mg_min",), min(raw, dose), "dose_mg", "dose")
    msgs += _check(protocol, ("dose_mg_max",), max(raw, dose), "dose_mg", "dose")
    return dose, msgs


_CANDIDATE_ORDER: tuple[WeightBasis, ...] = ("actual", "adjusted", "ideal")


def _per_kg(dose_mg: float | None, weight_kg: float) -> float | None:
    if dose_mg is None:
        return None
    return round(dose_mg / weight_kg, int(_order_data()["display"]["delivered_mg_per_kg_decimals"]))


def _candidates(
    protocol: Protocol,
    weights: DosingWeights,
    mg_per_kg: float,
    step: float,
    chosen: WeightBasis | None,
    recommended: WeightBasis,
) -> tuple[CandidateDose, ...]:
    cands = []
    for cw in weights.candidates():
        c_dose, c_msgs = _weight_dose(protocol, mg_per_kg, cw.weight_kg, step)
        level: Level | None = "hard" if any(m.level == "hard" for m in c_msgs) else "soft" if c_msgs else None
        dose = None if level == "hard" else c_dose
        cands.append(
            CandidateDose(
                cw.basis,
                cw.weight_kg,
                dose,
                cw.basis == chosen,
                cw.basis == recommended,
                level,
                cw.note,
                _per_kg(dose, weights.actual_kg),
            )
        )
    return tuple(sorted(cands, key=lambda c: _CANDIDATE_ORDER.index(c.basis)))


def weight_basis_options(
    req: DoseRequest, policy: WeightBasisPolicy | None = None
) -> WeightBasisOptions | None:
    """Return the candidate doses on actual, adjusted and ideal weight with mg/kg of actual weight for each and
    the policy's recommendation (None for a fixed-dose protocol); refuses missing weight, height or sex."""
    protocol = load_protocol(req.protocol_id)
    if protocol.dosing != "weight":
        return None
    policy = policy or weight_basis_policy()
    weight = _positive(req.weight_kg, "weight", "weight in kg")
    height = _positive(req.height_cm, "height", "height in cm")
    if req.sex is None:
        raise InvalidValue("sex", "sex (female or male) is required for ideal and adjusted body weight")
    weights = dosing_weights(weight, height, req.sex)
    mg_per_kg = _positive(
        req.mg_per_kg if req.mg_per_kg is not None else protocol.default_mg_per_kg,
        "mg_per_kg",
        "dose in mg/kg",
    )
    step = _dose_step(protocol, _strength(protocol, req.vial_strength_mg_per_ml))
    recommended = policy.basis_for(weights.bmi_kg_per_m2)
    return WeightBasisOptions(
        bmi_kg_per_m2=weights.bmi_kg_per_m2,
        bmi_threshold=policy.bmi_threshold,
        recommended=recommended,
        choice_required=choice_required(weights.bmi_kg_per_m2, policy),
        mg_per_kg=mg_per_kg,
        candidates=_candidates(protocol, weights, mg_per_kg, step, None, recommended),
        policy_source=policy.source,
        policy_note=policy.note,
    )


def _on_grid(value: float, step: float) -> bool:
    return abs(round_to_step(value, step) - value) <= 1e-9 * max(1.0, abs(value))


def _exact_fixed_dose(protocol: Protocol, requested: float, strength: float | None) -> float:
    """Return `requested` when the strength and syringe can measure it exactly, else refuse it naming the
    nearest doses that can be prepared (and another stocked strength that measures it exactly)."""
    step = _dose_step(protocol, strength)
    if _on_grid(requested, step):
        return requested
    lo, hi = _hard_bounds_mg(protocol, None)
    nearest = tuple(
        dict.fromkeys(
            x
            for x in (round_to_step(requested, step, "down"), round_to_step(requested, step, "up"))
            if x > 0 and lo - _EPS <= x <= hi + _EPS
        )
    )
    others = [
        s
        for s in protocol.vial_strengths_mg_per_ml
        if s != strength and _on_grid(requested, _dose_step(protocol, s))
    ]
    what = f"from {strength:g} mg/mL in {protocol.draw_volume_ml_step:g} mL steps" if strength else ""
    offer = " or ".join(f"{x:g} mg" for x in nearest) or "a different dose"
    tail = (
        f", or choose the {others[0]:g} mg/mL strength, which measures {requested:g} mg exactly"
        if others
        else ""
    )
    raise DoseNotPreparable(
        "dose_mg",
        f"{requested:g} mg cannot be measured exactly {what} (steps of {step:g} mg); the dose is never "
        f"changed without you: order {offer}{tail}",
        nearest,
    )


def _schedule_messages(
    protocol: Protocol, start: datetime, previous: Sequence[datetime]
) -> list[LimitMessage]:
    try:
        before = sorted(t for t in previous if t <= start)
    except TypeError as exc:
        raise InvalidValue(
            "previous_session_starts",
            "give session times and the start time both with a time zone or both without",
        ) from exc
    msgs: list[LimitMessage] = []
    if before:
        gap_h = (start - before[-1]) / timedelta(hours=1)
        msgs += _check(protocol, ("interval_h_min",), round(gap_h, 2), "start", "time since the last session")
    window = [t for t in before if start - t < timedelta(days=7)]
    msgs += _check(
        protocol,
        ("sessions_per_week_max",),
        float(len(window) + 1),
        "start",
        "sessions in the 7 days up to this one",
    )
    return msgs


def _strength(protocol: Protocol, requested: float | None) -> float | None:
    if not protocol.vial_strengths_mg_per_ml:
        return None
    if requested is None:
        return protocol.default_vial_strength_mg_per_ml
    value = _positive(requested, "vial_strength_mg_per_ml", "vial strength")
    for s in protocol.vial_strengths_mg_per_ml:
        if math.isclose(s, value, rel_tol=1e-9):
            return s
    allowed = ", ".join(f"{s:g}" for s in protocol.vial_strengths_mg_per_ml)
    raise InvalidValue(
        "vial_strength_mg_per_ml", f"{value:g} mg/mL is not stocked for {protocol.id}: use {allowed}"
    )


def _esketamine_messages(protocol: Protocol, dose_mg: float, req: DoseRequest) -> list[LimitMessage]:
    rule = protocol.raw.get("age_rule")
    msgs: list[LimitMessage] = []
    if protocol.allowed_mg and not any(math.isclose(dose_mg, a) for a in protocol.allowed_mg):
        allowed = ", ".join(f"{a:g}" for a in protocol.allowed_mg)
        msgs.append(
            LimitMessage(
                "hard",
                f"{protocol.id}.dose.allowed_mg",
                "dose_mg",
                f"{dose_mg:g} mg is not a label dose: use {allowed} mg "
                f"(whole {protocol.device_mg:g} mg devices); "
                "refused: a hard limit is never exceeded",
                dose_mg,
                None,
                "mg",
                str(protocol.raw["dose"]["source"]),
            )
        )
        return msgs
    if rule is None:
        return msgs
    if req.age_years is None:
        raise InvalidValue(
            "age_years", "age in years is required: the esketamine label doses differ at 65 and over"
        )
    age = _positive(req.age_years, "age_years", "age in years")
    older = age >= float(rule["older_adult_min_age_years"])
    allowed_mg = [float(x) for x in rule["allowed_mg_older" if older else "allowed_mg_under"]]
    group = f"{'>=' if older else '<'} {rule['older_adult_min_age_years']} y"
    if not any(math.isclose(dose_mg, a) for a in allowed_mg):
        msgs.append(
            LimitMessage(
                "soft",
                f"{protocol.id}.age_rule.allowed_mg",
                "dose_mg",
                f"{dose_mg:g} mg is not a label dose for adults {group} "
                f"({', '.join(f'{a:g}' for a in allowed_mg)} mg); state a reason to proceed",
                dose_mg,
                None,
                "mg",
                str(rule["source"]),
            )
        )
    if req.session_number == 1:
        first = float(rule["first_dose_mg_older" if older else "first_dose_mg_under"])
        if not math.isclose(dose_mg, first):
            msgs.append(
                LimitMessage(
                    "soft",
                    f"{protocol.id}.age_rule.first_dose_mg",
                    "dose_mg",
                    f"the label first dose for adults {group} is {first:g} mg, not {dose_mg:g} mg; "
                    "state a reason to proceed",
                    dose_mg,
                    first,
                    "mg",
                    str(rule["source"]),
                )
            )
    return msgs


def default_dose_mg(
    protocol: Protocol, age_years: float | None = None, session_number: int | None = None
) -> float:
    """Return a fixed-dose protocol's default dose in mg (esketamine: label first dose by age, session 1)."""
    rule = protocol.raw.get("age_rule")
    if rule is not None and session_number == 1 and age_years is not None:
        older = float(age_years) >= float(rule["older_adult_min_age_years"])
        return float(rule["first_dose_mg_older" if older else "first_dose_mg_under"])
    if protocol.default_mg is None:
        raise InvalidValue("dose_mg", f"{protocol.id} has no default dose")
    return protocol.default_mg


@dataclass(frozen=True)
class _DoseParts:
    """The dose and, for a weight-based protocol, the weights and basis behind it (None/False otherwise)."""

    dose_mg: float
    weight_kg: float | None = None
    dosing_weight_kg: float | None = None
    bmi_kg_per_m2: float | None = None
    mg_per_kg: float | None = None
    computed_dose_mg: float | None = None
    mg_per_kg_actual: float | None = None
    weight_basis: WeightBasis | None = None
    policy_weight_basis: WeightBasis | None = None
    weight_basis_overridden: bool = False
    weight_basis_reason: str | None = None
    weight_basis_chosen: bool = False
    candidates: tuple[CandidateDose, ...] = ()


def compute_order(
    req: DoseRequest,
    policy: WeightBasisPolicy | None = None,
    freshness: FreshnessRules | None = None,
) -> DoseOrder:
    """Return the dose order for `req`, or raise OrderRefused (hard limit, or soft limit without a reason)."""
    protocol = load_protocol(req.protocol_id)
    soft_reason = _reason(req.soft_limit_reason)
    rounding: list[RoundingApplied] = []
    strength = _strength(protocol, req.vial_strength_mg_per_ml)
    if protocol.dosing == "weight":
        parts, messages = _weight_based_dose(protocol, req, policy, freshness, strength, rounding)
    else:
        parts, messages = _fixed_dose(protocol, req, strength)
    dose_mg = parts.dose_mg

    messages += _schedule_messages(protocol, req.start, req.previous_session_starts)
    messages = _with_soft_reason(messages, soft_reason)
    if any(m.level == "hard" for m in messages) or any(m.reason is None for m in messages):
        raise OrderRefused(messages)
    if dose_mg <= 0:
        raise InvalidValue(
            "mg_per_kg" if protocol.dosing == "weight" else "dose_mg",
            "the dose rounds to 0 mg; check the dose",
        )

    prep, volume_ml, rate, duration = _prepare(protocol, dose_mg, strength, rounding)
    delivered = None
    if parts.dosing_weight_kg is not None:
        delivered = round(
            dose_mg / parts.dosing_weight_kg, int(_order_data()["display"]["delivered_mg_per_kg_decimals"])
        )
    return DoseOrder(
        protocol_id=protocol.id,
        drug=protocol.drug,
        route=protocol.route,
        start=req.start,
        end=req.start + timedelta(minutes=duration),
        duration_min=duration,
        dose_mg=dose_mg,
        mg_per_kg=parts.mg_per_kg,
        delivered_mg_per_kg=delivered,
        weight_kg=parts.weight_kg,
        weight_measured_at=req.weight_measured_at if protocol.dosing == "weight" else None,
        dosing_weight_kg=parts.dosing_weight_kg,
        weight_basis=parts.weight_basis,
        policy_weight_basis=parts.policy_weight_basis,
        weight_basis_overridden=parts.weight_basis_overridden,
        weight_basis_reason=parts.weight_basis_reason,
        weight_basis_chosen=parts.weight_basis_chosen,
        mg_per_kg_actual=parts.mg_per_kg_actual,
        computed_dose_mg=parts.computed_dose_mg,
        bmi_kg_per_m2=parts.bmi_kg_per_m2,
        candidates=parts.candidates,
        preparation=prep,
        rate_ml_per_h=rate,
        volume_ml=volume_ml,
        messages=tuple(messages),
        soft_limit_reason=soft_reason,
        weight_confirmation=_reason(req.weight_confirmation),
        rounding=tuple(rounding),
    )


def _weight_based_dose(
    protocol: Protocol,
    req: DoseRequest,
    policy: WeightBasisPolicy | None,
    freshness: FreshnessRules | None,
    strength: float | None,
    rounding: list[RoundingApplied],
) -> tuple[_DoseParts, list[LimitMessage]]:
    """Return the mg/kg dose on the chosen weight basis, rounded to the protocol's step (appended to
    `rounding`), with the weight confirmations and dose-limit messages."""
    weight = _positive(req.weight_kg, "weight", "weight in kg")
    height = _positive(req.height_cm, "height", "height in cm")
    if req.sex is None:
        raise InvalidValue("sex", "sex (female or male) is required for ideal and adjusted body weight")
    if req.dose_mg is not None:
        raise InvalidValue("dose_mg", f"{protocol.id} is weight-based: order mg/kg, not a fixed mg dose")
    weights = dosing_weights(weight, height, req.sex)
    weight_kg, bmi = weights.actual_kg, weights.bmi_kg_per_m2
    choice = choose_weight_basis(bmi, req.weight_basis, req.weight_basis_reason, policy)
    dosing_weight = weights.weight_for(choice.basis)
    mg_per_kg = _positive(
        req.mg_per_kg if req.mg_per_kg is not None else protocol.default_mg_per_kg,
        "mg_per_kg",
        "dose in mg/kg",
    )
    if req.weight_measured_at is None:
        raise InvalidValue("weight_measured_at", "the date and time the weight was measured is required")
    messages = [
        LimitMessage(
            "soft",
            c.rule,
            "weight",
            c.message,
            weight_kg,
            None,
            "kg",
            c.source,
            _reason(req.weight_confirmation),
        )
        for c in weight_confirmations(
            weight_kg, req.weight_measured_at, req.start, req.previous_weight_kg, freshness
        )
    ]
    step = _dose_step(protocol, strength)
    dose_mg, dose_msgs = _weight_dose(protocol, mg_per_kg, dosing_weight, step)
    messages += dose_msgs
    computed = round(mg_per_kg * dosing_weight, 6)  # float noise only; the prescriber sees both values
    rounding.append(
        RoundingApplied("dose_mg", computed, dose_mg, step, str(protocol.raw["rounding"]["note"]))
    )
    parts = _DoseParts(
        dose_mg=dose_mg,
        weight_kg=weight_kg,
        dosing_weight_kg=dosing_weight,
        bmi_kg_per_m2=bmi,
        mg_per_kg=mg_per_kg,
        computed_dose_mg=computed,
        mg_per_kg_actual=_per_kg(dose_mg, weight_kg),
        weight_basis=choice.basis,
        policy_weight_basis=choice.policy_basis,
        weight_basis_overridden=choice.overridden,
        weight_basis_reason=choice.reason,
        weight_basis_chosen=choice.chosen,
        candidates=_candidates(protocol, weights, mg_per_kg, step, choice.basis, choice.policy_basis),
    )
    return parts, messages


def _fixed_dose(
    protocol: Protocol, req: DoseRequest, strength: float | None
) -> tuple[_DoseParts, list[LimitMessage]]:
    """Return the fixed mg dose (the requested one or the protocol default) with its limit messages."""
    if req.mg_per_kg is not None:
        raise InvalidValue("mg_per_kg", f"{protocol.id} is a fixed-dose protocol: order mg, not mg/kg")
    if req.weight_basis:
        raise InvalidValue("weight_basis", f"{protocol.id} is a fixed-dose protocol: it has no weight basis")
    requested = _positive(
        req.dose_mg
        if req.dose_mg is not None
        else default_dose_mg(protocol, req.age_years, req.session_number),
        "dose_mg",
        "dose in mg",
    )
    messages: list[LimitMessage] = []
    if protocol.device_mg:
        dose_mg = requested  # devices are whole; a dose off the device grid is refused, never rounded
        messages += _esketamine_messages(protocol, dose_mg, req)
    else:
        dose_mg = _exact_fixed_dose(protocol, requested, strength)
    messages += _check(protocol, ("dose_mg_min", "dose_mg_max"), requested, "dose_mg", "dose")
    return _DoseParts(dose_mg=dose_mg), messages


def _with_soft_reason(messages: list[LimitMessage], soft_reason: str | None) -> list[LimitMessage]:
    """Return `messages` with the order's soft-limit reason on each soft limit that has none of its own
    (weight confirmations keep their own reason)."""
    return [
        m
        if m.reason is not None or m.level == "hard" or m.rule.startswith("weight.")
        else LimitMessage(**{**asdict(m), "reason": soft_reason})
        for m in messages
    ]


def _prepare(
    protocol: Protocol, dose_mg: float, strength: float | None, rounding: list[RoundingApplied]
) -> tuple[Preparation, float | None, float | None, float]:
    prep_raw = protocol.raw.get("preparation", {})
    form = str(prep_raw.get("form", ""))
    if protocol.device_mg:
        devices = int(round(dose_mg / protocol.device_mg))
        duration = (devices - 1) * (protocol.device_rest_min or 0.0)
        return (
            Preparation(form, None, None, "none", 0.0, None, None, devices, protocol.device_mg),
            None,
            None,
            duration,
        )
    assert strength is not None and protocol.draw_volume_ml_step is not None  # noqa: S101 - narrows the type; ensured above
    # the dose sits on the strength x syringe-step grid, so this only cleans float noise
    draw = round_to_step(dose_mg / strength, protocol.draw_volume_ml_step)
    duration = float(protocol.duration_min or 0.0)
    conc_decimals = int(_order_data()["display"]["concentration_mg_per_ml_decimals"])
    if protocol.is_infusion:
        final = protocol.final_volume_ml
        if draw > final:
            raise InvalidValue(
                "vial_strength_mg_per_ml",
                f"{draw:g} mL of drug does not fit in the {final:g} mL final volume; use the stronger vial",
            )
        raw_rate = final / (duration / 60.0)
        step = protocol.rate_ml_per_h_step or 0.1
        rate = round_to_step(raw_rate, step)
        rounding.append(
            RoundingApplied("rate_ml_per_h", raw_rate, rate, step, str(protocol.raw["rounding"]["note"]))
        )
        prep = Preparation(
            form,
            strength,
            draw,
            protocol.diluent,
            round(final - draw, 2),
            final,
            round(dose_mg / final, conc_decimals),
        )
        return prep, final, rate, duration
    prep = Preparation(form, strength, draw, protocol.diluent, 0.0, draw, strength)
    return prep, draw, None, duration


@dataclass(frozen=True)
class Tolerances:
    """Absolute tolerances for the independent double check (kg, mg, mL/h), with their source."""

    weight_kg: float
    dose_mg: float
    rate_ml_per_h: float
    source: str


def double_check_tolerances() -> Tolerances:
    """Return the double-check tolerances from `order.toml` (clinic-configurable defaults)."""
    d = _order_data()["double_check"]
    return Tolerances(float(d["weight_kg"]), float(d["dose_mg"]), float(d["rate_ml_per_h"]), str(d["source"]))


@dataclass(frozen=True)
class FieldDifference:
    """One field where the second clinician's entry differs from the order beyond the tolerance."""

    field: str
    order_value: float | None
    check_value: float | None
    tolerance: float
    unit: str


@dataclass(frozen=True)
class DoubleCheckResult:
    """Outcome of an independent double check: match, or the fields that differ and the tolerances used."""

    match: bool
    differences: tuple[FieldDifference, ...]
    compared: tuple[str, ...]
    tolerances: Tolerances


def double_check(
    order: DoseOrder,
    check_dose_mg: float,
    check_weight_kg: float | None = None,
    check_rate_ml_per_h: float | None = None,
    tolerances: Tolerances | None = None,
) -> DoubleCheckResult:
    """Compare a second clinician's independent weight (kg), dose (mg) and rate (mL/h) with the order."""
    tol = tolerances or double_check_tolerances()
    pairs: list[tuple[str, float | None, float | None, float, str]] = [
        (
            "dose_mg",
            order.dose_mg,
            _positive(check_dose_mg, "check_dose_mg", "the checker's dose in mg"),
            tol.dose_mg,
            "mg",
        ),
    ]
    if order.weight_kg is not None:
        if check_weight_kg is None:
            raise InvalidValue("check_weight_kg", "the checker's independently read weight in kg is required")
        pairs.append(
            (
                "weight_kg",
                order.weight_kg,
                _positive(check_weight_kg, "check_weight_kg", "weight"),
                tol.weight_kg,
                "kg",
            )
        )
    if order.rate_ml_per_h is not None and check_rate_ml_per_h is not None:
        pairs.append(
            (
                "rate_ml_per_h",
                order.rate_ml_per_h,
                _positive(check_rate_ml_per_h, "check_rate_ml_per_h", "rate"),
                tol.rate_ml_per_h,
                "mL/h",
            )
        )
    diffs = tuple(
        FieldDifference(f, a, b, t, u)
        for f, a, b, t, u in pairs
        if a is None or b is None or abs(a - b) > t + _EPS
    )
    return DoubleCheckResult(not diffs, diffs, tuple(p[0] for p in pairs), tol)
