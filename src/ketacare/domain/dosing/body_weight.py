"""Dosing body weight: actual, ideal (Devine 1974) and adjusted weight, the clinic's basis policy, freshness.

Constants live in `body_weight.toml` with their sources. All weights are kilograms, heights centimetres;
inputs are parsed by `ketacare.domain.units` (this module re-checks the kg/cm values it is given).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue
from ketacare.domain.units import bmi, check_height_cm, check_weight_kg, in_to_cm

Sex = Literal["female", "male"]
WeightBasis = Literal["actual", "ideal", "adjusted"]
WEIGHT_BASES: tuple[WeightBasis, ...] = ("actual", "ideal", "adjusted")


def _data() -> dict[str, Any]:
    return load_toml("ketacare.domain.dosing", "body_weight.toml")


def check_sex(sex: str, field: str = "sex") -> Sex:
    """Return `sex` as "female" or "male" (the Devine formula has only these two), or refuse it."""
    value = str(sex or "").strip().lower()
    aliases = {
        "f": "female",
        "female": "female",
        "woman": "female",
        "m": "male",
        "male": "male",
        "man": "male",
    }
    if value not in aliases:
        raise InvalidValue(
            field,
            f"'{sex}' cannot be used for ideal body weight: Devine 1974 needs female or male "
            "(choose the actual-weight basis by override if neither applies)",
        )
    return aliases[value]  # type: ignore[return-value]


def check_weight_basis(basis: str, field: str = "weight_basis") -> WeightBasis:
    """Return `basis` as one of actual, ideal, adjusted, or refuse it."""
    value = str(basis or "").strip().lower()
    if value not in WEIGHT_BASES:
        raise InvalidValue(field, f"'{basis}' is not a weight basis: use actual, ideal or adjusted")
    return value


def ideal_body_weight_kg(height_cm: float, sex: str) -> float:
    """Return Devine ideal body weight in kg: 50 (male) / 45.5 (female) + 2.3 kg per inch over 60 in [devine1974]."""
    d = _data()["devine"]
    height_cm = check_height_cm(height_cm)
    base = float(d["male_base_kg"] if check_sex(sex) == "male" else d["female_base_kg"])
    inches_over = max(0.0, height_cm / in_to_cm() - float(d["base_height_in"]))
    return base + float(d["kg_per_inch_over"]) * inches_over


def adjusted_body_weight_kg(weight_kg: float, height_cm: float, sex: str) -> float:
    """Return adjusted body weight in kg: IBW + 0.4 x (TBW - IBW) when TBW > IBW, else TBW [bauer2001]."""
    weight_kg = check_weight_kg(weight_kg)
    ibw = ideal_body_weight_kg(height_cm, sex)
    if weight_kg <= ibw:
        return weight_kg
    return ibw + float(_data()["adjusted"]["factor"]) * (weight_kg - ibw)


@dataclass(frozen=True)
class CandidateWeight:
    """One candidate dosing weight (kg) for a basis, with a note when a convention changed it."""

    basis: WeightBasis
    weight_kg: float
    note: str = ""


@dataclass(frozen=True)
class DosingWeights:
    """Actual, ideal and adjusted dosing weights (kg) for one patient, with BMI and the raw Devine IBW."""

    actual_kg: float
    ideal_kg: float
    adjusted_kg: float
    ibw_kg: float
    bmi_kg_per_m2: float
    height_cm: float
    sex: Sex

    def weight_for(self, basis: WeightBasis) -> float:
        """Return the dosing weight in kg for `basis`."""
        return {"actual": self.actual_kg, "ideal": self.ideal_kg, "adjusted": self.adjusted_kg}[basis]

    def candidates(self) -> tuple[CandidateWeight, ...]:
        """Return the three candidate weights in display order (actual, ideal, adjusted)."""
        low = self.actual_kg < self.ibw_kg
        note = (
            f"actual weight is below ideal ({self.ibw_kg:.1f} kg); "
            "actual weight is used (calculator convention [devine1974, bauer2001])"
            if low
            else ""
        )
        return (
            CandidateWeight("actual", self.actual_kg),
            CandidateWeight("ideal", self.ideal_kg, note),
            CandidateWeight("adjusted", self.adjusted_kg, note),
        )


def dosing_weights(weight_kg: float, height_cm: float, sex: str) -> DosingWeights:
    """Return actual, ideal and adjusted dosing weights in kg (if TBW < IBW, TBW is used for all) [devine1974]."""
    weight_kg = check_weight_kg(weight_kg)
    height_cm = check_height_cm(height_cm)
    sex_ = check_sex(sex)
    ibw = ideal_body_weight_kg(height_cm, sex_)
    # candidate weights are rounded like a measured weight (units.toml storage decimals), so a stored dose
    # can be recomputed from the stored weight
    adjusted = adjusted_body_weight_kg(weight_kg, height_cm, sex_)
    return DosingWeights(
        actual_kg=weight_kg,
        ideal_kg=check_weight_kg(min(ibw, weight_kg), "ideal_weight_kg"),
        adjusted_kg=check_weight_kg(adjusted, "adjusted_weight_kg"),
        ibw_kg=ibw,
        bmi_kg_per_m2=bmi(weight_kg, height_cm),
        height_cm=height_cm,
        sex=sex_,
    )


@dataclass(frozen=True)
class WeightBasisPolicy:
    """The clinic's weight-basis rule: one basis below a BMI threshold, another at or above it."""

    bmi_threshold: float
    basis_below: WeightBasis
    basis_at_or_above: WeightBasis
    source: str
    note: str

    def basis_for(self, bmi_kg_per_m2: float) -> WeightBasis:
        """Return the basis this policy picks for a BMI in kg/m^2."""
        return self.basis_at_or_above if bmi_kg_per_m2 >= self.bmi_threshold else self.basis_below


def weight_basis_policy() -> WeightBasisPolicy:
    """Return the clinic's weight-basis policy from `body_weight.toml` (a configurable default)."""
    p = _data()["policy"]
    return WeightBasisPolicy(
        bmi_threshold=float(p["bmi_threshold"]),
        basis_below=check_weight_basis(p["basis_below"]),
        basis_at_or_above=check_weight_basis(p["basis_at_or_above"]),
        source=str(p["source"]),
        note=str(p["note"]),
    )


@dataclass(frozen=True)
class BasisChoice:
    """The basis used for an order: the policy's (below the BMI threshold only) or the prescriber's choice
    (`chosen`), with the reason when it is not the policy's recommendation (`overridden`)."""

    basis: WeightBasis
    policy_basis: WeightBasis
    overridden: bool
    reason: str | None
    policy: WeightBasisPolicy
    chosen: bool = False


def choice_required(bmi_kg_per_m2: float, policy: WeightBasisPolicy | None = None) -> bool:
    """Return True when the prescriber must choose the weight basis (BMI at or above the policy threshold)."""
    policy = policy or weight_basis_policy()
    return bmi_kg_per_m2 >= policy.bmi_threshold


def choose_weight_basis(
    bmi_kg_per_m2: float,
    requested: str | None = None,
    reason: str | None = None,
    policy: WeightBasisPolicy | None = None,
) -> BasisChoice:
    """Return the basis for an order: below the BMI threshold the policy's unless another is requested with a
    reason; at or above it the prescriber must choose (never switched silently), with a reason when the choice
    is not the policy's recommendation."""
    policy = policy or weight_basis_policy()
    by_policy = policy.basis_for(bmi_kg_per_m2)
    if requested is None or not str(requested).strip():
        if choice_required(bmi_kg_per_m2, policy):
            raise InvalidValue(
                "weight_basis",
                f"BMI {bmi_kg_per_m2:.1f} kg/m² is at or above the clinic threshold {policy.bmi_threshold:g}: "
                "choose the dosing weight (actual, adjusted or ideal; the doses are shown side by side); "
                f"the clinic policy recommends {by_policy} weight",
            )
        return BasisChoice(by_policy, by_policy, False, None, policy)
    basis = check_weight_basis(requested)
    if basis == by_policy:
        return BasisChoice(basis, by_policy, False, (reason or "").strip() or None, policy, True)
    if not (reason or "").strip():
        raise InvalidValue(
            "weight_basis_reason",
            f"the clinic policy recommends {by_policy} weight at BMI {bmi_kg_per_m2:.1f} "
            f"(threshold {policy.bmi_threshold:g}); state a reason to dose on {basis} weight",
        )
    return BasisChoice(basis, by_policy, True, str(reason).strip(), policy, True)


@dataclass(frozen=True)
class FreshnessRules:
    """When a weight must be re-measured or confirmed: older than `max_age_days`, or changed by more than the
    fraction `max_change_fraction` from the previous weight."""

    max_age_days: float
    max_change_fraction: float
    source: str


def freshness_rules() -> FreshnessRules:
    """Return the weight-freshness rules from `body_weight.toml` (clinic-configurable defaults)."""
    f = _data()["freshness"]
    return FreshnessRules(float(f["max_age_days"]), float(f["max_change_fraction"]), str(f["source"]))


@dataclass(frozen=True)
class WeightConfirmation:
    """A confirmation the weight needs before it can be used for a dose."""

    rule: Literal["weight.age", "weight.change"]
    message: str
    source: str


def weight_confirmations(
    weight_kg: float,
    measured_at: datetime,
    order_time: datetime,
    previous_weight_kg: float | None = None,
    rules: FreshnessRules | None = None,
) -> tuple[WeightConfirmation, ...]:
    """Return the confirmations needed before dosing on `weight_kg` (age in days; change vs previous)."""
    rules = rules or freshness_rules()
    weight_kg = check_weight_kg(weight_kg)
    try:
        age = order_time - measured_at
    except TypeError as exc:
        raise InvalidValue(
            "weight_measured_at",
            "give the weight time and the order time both with a time zone or both without",
        ) from exc
    if age < timedelta(0):
        raise InvalidValue("weight_measured_at", "the weight is dated after the order; check the date")
    needed: list[WeightConfirmation] = []
    age_days = age / timedelta(days=1)
    if age_days > rules.max_age_days:
        needed.append(
            WeightConfirmation(
                "weight.age",
                f"weight measured {age_days:.0f} days before the order (limit {rules.max_age_days:g} days): "
                "re-weigh or confirm it",
                rules.source,
            )
        )
    if previous_weight_kg is not None:
        previous = check_weight_kg(previous_weight_kg, "previous_weight_kg")
        change = (weight_kg - previous) / previous
        if math.fabs(change) > rules.max_change_fraction:
            needed.append(
                WeightConfirmation(
                    "weight.change",
                    f"weight {weight_kg:g} kg differs by {change * 100:+.1f}% "
                    f"from the previous {previous:g} kg "
                    f"(limit {rules.max_change_fraction * 100:g}%): re-weigh or confirm it",
                    rules.source,
                )
            )
    return tuple(needed)
