"""The clinic itself: its settings with version history (issue 13), and facts about this database.

Other capabilities use it only through the names below (e.g. `clinic.zone(db)`, `clinic.alert_overrides(db)`).
"""

from ketacare.services.clinic.meta import (
    ClinicIdentity,
    DatabaseHealth,
    get_meta,
    health,
    patient_count,
    set_meta,
)
from ketacare.services.clinic.schemas import (
    ClinicSettingsIn,
    ClinicSettingsRead,
    ClinicSettingsUpdate,
    CrisisLine,
    ThresholdRead,
)
from ketacare.services.clinic.settings import (
    alert_overrides,
    alert_overrides_from,
    clinic_identity,
    current,
    current_in,
    from_environment,
    history,
    problems,
    read,
    save,
    seed,
    shipped_thresholds,
    thresholds,
    weight_policy,
    zone,
    zone_in,
)

__all__ = [
    "ClinicIdentity",
    "ClinicSettingsIn",
    "ClinicSettingsRead",
    "ClinicSettingsUpdate",
    "CrisisLine",
    "DatabaseHealth",
    "ThresholdRead",
    "alert_overrides",
    "alert_overrides_from",
    "clinic_identity",
    "current",
    "current_in",
    "from_environment",
    "get_meta",
    "health",
    "history",
    "patient_count",
    "problems",
    "read",
    "save",
    "seed",
    "set_meta",
    "shipped_thresholds",
    "thresholds",
    "weight_policy",
    "zone",
    "zone_in",
]
