"""Check a medication against the clinic's drug list: known name, suggestion for a misspelling, daily dose."""

from __future__ import annotations

from ketacare.domain.errors import InvalidValue, InvalidValues
from ketacare.domain.patients.drugs import check_daily_dose, find_drug, suggestions


def check_medication(
    name: str, dose_value: float, dose_unit: str, times_per_day: float | None, name_checked: bool
) -> str:
    """Return the name to store (as typed: a brand name stays a brand name, other capabilities map it); refuse
    a likely misspelling or a dose above the usual daily maximum, naming the field and what to do."""
    drug = find_drug(name)
    if drug is None:
        near = suggestions(name)
        if near and not name_checked:
            options = " or ".join(f"{n}?" for n in near)
            raise InvalidValue(
                "name",
                f"'{name}' is not on the clinic's drug list. Did you mean {options} "
                "(or tick 'Record this name as typed')",
            )
        if not name_checked:
            raise InvalidValues(
                {
                    "name_checked": f"'{name}' is not on the clinic's drug list: check the spelling, then tick "
                    "'Record this name as typed'"
                }
            )
        return name
    check_daily_dose(drug, dose_value, dose_unit, times_per_day)
    return name
