"""Read the clinic's settings in force and save new versions (issue 13).

The database wins: the newest saved version is in force. Before the first save (a new clinic), the settings come
from the environment (`KETACARE_TIMEZONE`, `KETACARE_WEIGHT_UNIT`, `KETACARE_HEIGHT_UNIT`,
`KETACARE_ASSESSMENT_PLAN`) and the shipped defaults, shown as version 0; saving once stores them in the database,
after which those variables no longer change anything.
"""

from __future__ import annotations

from datetime import tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.config import Settings, get_settings
from ketacare.domain import formatting, outcomes
from ketacare.domain.clinic import check_thresholds, threshold_bounds, weight_policy_bounds
from ketacare.domain.dosing import WeightBasisPolicy, weight_basis_policy
from ketacare.domain.errors import InvalidValue, InvalidValues
from ketacare.domain.measurement import plan_ids
from ketacare.domain.sessions import load_alert_rules
from ketacare.services import clock
from ketacare.services.access import Actor
from ketacare.services.clinic.meta import ClinicIdentity, get_meta
from ketacare.services.clinic.schemas import (
    ClinicSettingsIn,
    ClinicSettingsRead,
    ClinicSettingsUpdate,
    CrisisLine,
    ThresholdRead,
)
from ketacare.services.errors import Conflict
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import User
from ketacare.store.tables.clinic import ClinicSettingsVersion

RESOURCE = "clinic_settings"

# Before a clinic saves its own: lines that dial exactly the number they name (the clinic replaces them).
DEFAULT_CRISIS_LINES = (
    CrisisLine(country="United States", name="988 Suicide & Crisis Lifeline", number="988",
               when="If you are thinking about hurting yourself. Call or text, 24 hours a day."),
    CrisisLine(country="United States", name="Emergency services", number="911",
               when="If you are in immediate danger or have hurt yourself."),
    CrisisLine(country="European Union", name="Emergency services", number="112",
               when="If you are in immediate danger or have hurt yourself."),
)  # fmt: skip


def from_environment(seed: Settings | None = None) -> ClinicSettingsRead:
    """Return the settings a clinic has before its first save: environment variables and shipped defaults."""
    env = seed or get_settings()
    policy = weight_basis_policy()
    return ClinicSettingsRead(
        version=0,
        name=env.clinic_name or "Ketacare clinic",
        address=env.clinic_address,
        phone=env.clinic_phone,
        timezone=env.timezone,
        crisis_lines=list(DEFAULT_CRISIS_LINES),
        weight_unit=env.weight_unit,
        height_unit=env.height_unit,
        weight_bmi_threshold=policy.bmi_threshold,
        weight_basis_at_or_above=policy.basis_at_or_above,
        assessment_plan=env.assessment_plan,
    )


def clinic_identity(db: Database, seed: Settings | None = None) -> ClinicIdentity:
    """Return who the clinic is, as printed on records: the settings in force (name, address, phone, zone)."""
    settings = current(db, seed)
    demo = get_meta(db, "demo") == "true"
    return ClinicIdentity(
        name=settings.name,
        address=settings.address or ("Synthetic patients only - not a real clinic" if demo else ""),
        phone=settings.phone,
        timezone=settings.timezone,
        demo=demo,
    )


def current(db: Database, seed: Settings | None = None) -> ClinicSettingsRead:
    """Return the settings in force (not patient data: every page needs the clinic's zone and units)."""
    with db.session() as s:
        return current_in(s, seed)


def current_in(s: Session, seed: Settings | None = None) -> ClinicSettingsRead:
    """Return the settings in force, read in the caller's transaction (one connection for a use case)."""
    row = s.scalars(
        select(ClinicSettingsVersion).order_by(ClinicSettingsVersion.version.desc()).limit(1)
    ).first()
    return from_environment(seed) if row is None else _read(row)


def _read(row: ClinicSettingsVersion) -> ClinicSettingsRead:
    return ClinicSettingsRead(
        **row.data,
        version=row.version,
        changed_by_name=row.changed_by_name,
        changed_at=row.changed_at,
        reason=row.reason,
    )


def zone(db: Database, seed: Settings | None = None) -> tzinfo:
    """Return the clinic's time zone."""
    return formatting.zone(current(db, seed).timezone)


def zone_in(s: Session) -> tzinfo:
    """Return the clinic's time zone, read in the caller's transaction."""
    return formatting.zone(current_in(s).timezone)


def weight_policy(db: Database) -> WeightBasisPolicy:
    """Return the clinic's weight-basis policy (its BMI threshold and the basis recommended at or above it)."""
    c, shipped = current(db), weight_basis_policy()
    if (
        c.weight_bmi_threshold == shipped.bmi_threshold
        and c.weight_basis_at_or_above == shipped.basis_at_or_above
    ):
        return shipped
    return WeightBasisPolicy(
        bmi_threshold=c.weight_bmi_threshold,
        basis_below=shipped.basis_below,
        basis_at_or_above=c.weight_basis_at_or_above,
        source=f"clinic setting (version {c.version}); shipped default from: {shipped.source}",
        note=shipped.note,
    )


def alert_overrides(db: Database) -> dict[str, dict[str, dict[str, float]]]:
    """Return the clinic's alert thresholds as overrides for the alert rules: {rule: {"thresholds": {vital: v}}}."""
    with db.session() as s:
        return alert_overrides_from(s)


def alert_overrides_from(s: Session) -> dict[str, dict[str, dict[str, float]]]:
    """Return the clinic's alert-rule overrides as read in the open transaction `s`."""
    data = s.scalar(
        select(ClinicSettingsVersion.data).order_by(ClinicSettingsVersion.version.desc()).limit(1)
    )
    out: dict[str, dict[str, dict[str, float]]] = {}
    for key, value in dict((data or {}).get("alert_thresholds") or {}).items():
        rule, vital = key.split(".", 1)
        out.setdefault(rule, {"thresholds": {}})["thresholds"][vital] = float(value)
    return out


def shipped_thresholds() -> dict[str, float]:
    """Return the shipped value of every threshold a clinic may set ("rule.vital" -> value)."""
    rules = {r.id: r for r in load_alert_rules()}
    out = {}
    for b in threshold_bounds():
        for c in rules[b.rule].conditions:
            if c.vital == b.vital:
                out[b.key] = c.value
    return out


def thresholds(settings: ClinicSettingsIn) -> list[ThresholdRead]:
    """Return every settable alert threshold with its bounds, shipped default and the value in `settings`."""
    rules = {r.id: r for r in load_alert_rules()}
    shipped = shipped_thresholds()
    out = []
    for b in threshold_bounds():
        value = settings.alert_thresholds.get(b.key, shipped[b.key])
        out.append(
            ThresholdRead(
                key=b.key, rule=b.rule, rule_title=rules[b.rule].title, vital=b.vital, unit=b.unit, min=b.min,
                max=b.max, default=shipped[b.key], value=value, changed=value != shipped[b.key], source=b.source,
            )
        )  # fmt: skip
    return out


def problems(
    *, assessment_plan: str, weight_bmi_threshold: float, alert_thresholds: dict[str, float]
) -> dict[str, str]:
    """Return what the clinic rules refuse in these settings (field -> message); empty when all is well."""
    errors: dict[str, str] = {}
    if assessment_plan not in plan_ids():
        errors["assessment_plan"] = f"choose one of the plans: {', '.join(plan_ids())}"
    wb = weight_policy_bounds()
    if not wb.bmi_threshold_min <= weight_bmi_threshold <= wb.bmi_threshold_max:
        errors["weight_bmi_threshold"] = f"enter a BMI from {wb.bmi_threshold_min:g} to {wb.bmi_threshold_max:g} kg/m2"
    shipped = shipped_thresholds()
    try:
        check_thresholds({k: v for k, v in alert_thresholds.items() if shipped.get(k) != v}, shipped)
    except InvalidValue as exc:
        errors.update(getattr(exc, "errors", None) or {exc.field: exc.message})
    return errors


def _check(data: ClinicSettingsIn) -> ClinicSettingsIn:
    errors = problems(
        assessment_plan=data.assessment_plan,
        weight_bmi_threshold=data.weight_bmi_threshold,
        alert_thresholds=data.alert_thresholds,
    )
    try:
        outcomes.with_primary_instruments(outcomes.shipped(), data.outcome_primary_instruments)
    except InvalidValue as e:
        errors[e.field] = e.message
    if errors:
        raise InvalidValues(errors)
    shipped = shipped_thresholds()
    changed = {k: v for k, v in data.alert_thresholds.items() if shipped.get(k) != v}
    return data.model_copy(update={"alert_thresholds": changed})


def save(*, db: Database, actor: Actor, data: ClinicSettingsUpdate) -> ClinicSettingsRead:
    """Store a new version of the clinic's settings (who, when, why); 409 when `base_version` is stale."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("configure", RESOURCE)
        body = _check(ClinicSettingsIn.model_validate(data.model_dump(exclude={"base_version", "reason"})))
        s = uow.session
        latest = s.scalar(
            select(ClinicSettingsVersion.version).order_by(ClinicSettingsVersion.version.desc())
        )
        have = latest or 0
        if data.base_version != have:
            raise Conflict("The clinic settings", current_version=have, sent_version=data.base_version)
        user = s.get(User, actor.user_id) if actor.user_id is not None else None
        before = _read_dict(s, have)
        row = ClinicSettingsVersion(
            version=have + 1,
            data=body.model_dump(mode="json"),
            reason=data.reason,
            changed_by=actor.user_id,
            changed_by_name=user.display_name if user is not None else actor.username,
            changed_at=clock.now(),
        )
        s.add(row)
        s.flush()
        after = body.model_dump(mode="json")
        uow.audit(
            "update",
            RESOURCE,
            row.version,
            reason=data.reason,
            details={"changed": sorted(k for k in after if before.get(k) != after[k])},
        )
        return _read(row)


def _read_dict(s: Session, version: int) -> dict[str, object]:
    if version == 0:
        return {}
    row = s.scalar(select(ClinicSettingsVersion).where(ClinicSettingsVersion.version == version))
    return dict(row.data) if row is not None else {}


def history(*, db: Database, actor: Actor) -> list[ClinicSettingsRead]:
    """Return every saved version, newest first."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", RESOURCE)
        rows = uow.session.scalars(
            select(ClinicSettingsVersion).order_by(ClinicSettingsVersion.version.desc())
        ).all()
        uow.audit("view", RESOURCE, "history")
        return [_read(r) for r in rows]


def seed(*, db: Database, actor: Actor, data: ClinicSettingsIn, reason: str) -> ClinicSettingsRead:
    """Save `data` as the next version (the demo's example clinic, or a first start from the command line)."""
    base = current(db).version
    return save(
        db=db,
        actor=actor,
        data=ClinicSettingsUpdate(**data.model_dump(), base_version=base, reason=reason),
    )


def read(*, db: Database, actor: Actor, seed: Settings | None = None) -> ClinicSettingsRead:
    """Return the settings in force for someone the policy lets read them (the API's view)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", RESOURCE)
    return current(db, seed)
