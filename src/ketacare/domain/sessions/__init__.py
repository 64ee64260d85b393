"""Infusion-session core (issue #7): state machine, dose, alerts, side effects, REMS, simulator.

Pure: no clock, database or environment. Clinical constants live in `data/*.toml` with their sources.
"""

from ketacare.domain.sessions.alerts import (
    Acknowledgement,
    Alarm,
    AlarmChanges,
    AlarmEvent,
    AlarmPolicy,
    Alert,
    AlertChanges,
    AlertRule,
    apply_alarm_changes,
    apply_changes,
    conditions,
    escalate_alarms,
    evaluate,
    evaluate_series,
    load_alarm_policy,
    load_alert_rules,
    track_alarms,
    track_series,
)
from ketacare.domain.sessions.canonical import canonical_json, record_digest
from ketacare.domain.sessions.infusion import DeliveredDose, InfusionEvent, delivered_dose
from ketacare.domain.sessions.rems import (
    EventRecord,
    RemsSessionRecord,
    concomitant_hints,
    rems_missing_fields,
)
from ketacare.domain.sessions.session import (
    Event,
    Override,
    SessionFacts,
    State,
    TransitionResult,
    load_session_rules,
    transition,
)
from ketacare.domain.sessions.side_effects import (
    RescueGiven,
    SideEffect,
    SideEffectType,
    check_rescue_dose,
    load_formulary,
)
from ketacare.domain.sessions.simulator import SimulationParams, simulate_vitals
from ketacare.domain.sessions.vitals import VitalReading, VitalSigns

__all__ = [
    "Acknowledgement",
    "Alarm",
    "AlarmChanges",
    "AlarmEvent",
    "AlarmPolicy",
    "Alert",
    "AlertChanges",
    "AlertRule",
    "DeliveredDose",
    "Event",
    "EventRecord",
    "InfusionEvent",
    "Override",
    "RemsSessionRecord",
    "RescueGiven",
    "SessionFacts",
    "SideEffect",
    "SideEffectType",
    "SimulationParams",
    "State",
    "TransitionResult",
    "VitalReading",
    "VitalSigns",
    "apply_alarm_changes",
    "apply_changes",
    "canonical_json",
    "check_rescue_dose",
    "conditions",
    "delivered_dose",
    "escalate_alarms",
    "evaluate",
    "evaluate_series",
    "load_alarm_policy",
    "load_alert_rules",
    "load_formulary",
    "load_session_rules",
    "record_digest",
    "rems_missing_fields",
    "concomitant_hints",
    "simulate_vitals",
    "track_alarms",
    "track_series",
    "transition",
]
