"""Issue 11 point 11: rule advice only names instruments a clinician can open in Ketacare."""

from __future__ import annotations

import re

from ketacare.domain.eligibility.tables import rules
from ketacare.domain.measurement.catalogue import all_instruments

# Scales a rule author might name; any one named in advice must be in the instrument catalogue.
SCALES = ["BPRS", "BPRS+", "YMRS", "MADRS", "LSAS", "CAPS-5", "MoCA", "MMSE", "AUDIT-C", "AUDIT", "PUF", "ICSI",
          "DAST", "IES-R", "BAI", "GAD-7", "PHQ-9", "PCL-5", "OASIS", "HAM-A", "C-SSRS", "CADSS", "MOAA/S",
          "PDSS-SR", "Mini-SPIN"]


def _named(text: str) -> set[str]:
    return {s for s in SCALES if re.search(rf"(?<![\w-]){re.escape(s)}(?![\w-])", text)}


def test_advice_names_only_instruments_in_the_catalogue():
    have = {i.short_name for i in all_instruments()}
    missing = {r.id: sorted(_named(r.action) - have) for r in rules() if _named(r.action) - have}
    assert missing == {}


def test_alcohol_advice_points_at_the_audit_c_in_the_catalogue():
    action = next(r.action for r in rules() if r.id == "CA-ALCOHOL")
    assert "AUDIT-C" in action and "AUDIT-C" in {i.short_name for i in all_instruments()}


def test_psychosis_advice_says_what_to_do_without_bprs():
    action = next(r.action for r in rules() if r.id == "CA-PSYCHOSIS-HISTORY")
    assert "BPRS" not in action and "psychotic symptoms" in action
