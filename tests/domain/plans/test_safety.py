"""Course safety (pure domain): validity windows, due logic and their boundaries, cumulative dose windows."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue
from ketacare.domain.plans.datacheck import DataFileError
from ketacare.domain.plans.safety import (
    Applicability,
    DatedResult,
    DoseGiven,
    Screen,
    cumulative_dose,
    dose_check,
    misuse_check,
    parse_safety,
    pregnancy_check,
    puf_check,
    safety_settings,
    tox_check,
)

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
S = safety_settings()
CAN = Applicability(True, "can become pregnant")


def _days(d: float) -> datetime:
    return NOW - timedelta(days=d)


def test_shipped_settings_cite_their_sources():
    assert S.puf_no_abnormality_max == 16 and S.sources["puf_threshold"] == "hkmj2012"
    assert S.esketamine_hold_mg == 84 * 8 and S.sources["esketamine_hold"] == "spravato-label"  # 84 mg x2/wk x4
    assert S.sources["pregnancy"] == "clinic-default" and not S.tox_required


def test_a_number_without_a_known_source_is_refused():
    raw = copy.deepcopy(load_toml("ketacare.domain.plans.data", "safety.toml"))
    raw["puf"]["threshold_source"] = "nobody2099"
    with pytest.raises(DataFileError, match="nobody2099"):
        parse_safety(raw)


def test_pregnancy_applicability_is_never_assumed():
    c = pregnancy_check(None, [], NOW, S)
    assert c.status == "hold" and c.code == "not_recorded" and "record it" in c.reason
    c = pregnancy_check(Applicability(False, "post-menopausal"), [], NOW, S)
    assert c.status == "not_required" and "post-menopausal" in c.reason


def test_pregnancy_validity_window_boundary():
    valid = S.pregnancy_valid_days
    at_edge = pregnancy_check(CAN, [DatedResult(_days(valid), "negative", "urine hCG")], NOW, S)
    assert at_edge.status == "ok" and "urine hCG" in at_edge.reason
    past = _days(valid) - timedelta(seconds=1)
    expired = pregnancy_check(CAN, [DatedResult(past, "negative", "urine hCG")], NOW, S)
    assert expired.status == "hold" and expired.code == "expired" and "new test" in expired.reason
    assert pregnancy_check(CAN, [], NOW, S).code == "missing"


def test_the_newest_pregnancy_result_counts_and_future_results_are_refused():
    tests = [DatedResult(_days(3), "negative"), DatedResult(_days(1), "positive")]
    assert pregnancy_check(CAN, tests, NOW, S).code == "positive"
    tests = [DatedResult(_days(3), "positive"), DatedResult(_days(1), "negative")]
    assert pregnancy_check(CAN, tests, NOW, S).status == "ok"
    with pytest.raises(InvalidValue) as e:
        pregnancy_check(CAN, [DatedResult(NOW + timedelta(minutes=5), "negative")], NOW, S)
    assert e.value.field == "taken_at"


def test_toxicology_only_where_the_clinic_requires_it():
    assert tox_check([], NOW, S).status == "not_required"
    req = replace(S, tox_required=True)
    assert tox_check([], NOW, req).status == "hold"
    assert tox_check([DatedResult(_days(req.tox_valid_days), "negative")], NOW, req).status == "ok"
    old = _days(req.tox_valid_days) - timedelta(seconds=1)
    assert tox_check([DatedResult(old, "negative")], NOW, req).status == "hold"
    assert tox_check([DatedResult(_days(1), "positive")], NOW, req).status == "hold"
    assert tox_check([DatedResult(_days(1), "expected")], NOW, req).status == "ok"


def test_puf_due_at_baseline_and_after_the_interval():
    assert puf_check([], NOW, S).status == "due" and "baseline" in puf_check([], NOW, S).reason
    edge = puf_check([Screen(_days(S.puf_interval_days), total=8)], NOW, S)
    assert edge.status == "ok"
    late = puf_check([Screen(_days(S.puf_interval_days) - timedelta(seconds=1), total=8)], NOW, S)
    assert late.status == "due" and "overdue" in late.reason
    assert puf_check([], NOW, replace(S, puf_overdue_holds=True)).status == "hold"


def test_puf_above_16_holds_and_16_does_not():
    assert puf_check([Screen(_days(1), total=16)], NOW, S).status == "ok"
    c = puf_check([Screen(_days(1), total=17)], NOW, S)
    assert c.status == "hold" and c.source == "hkmj2012" and "17" in c.reason


def test_misuse_checklist_due_and_signs_hold():
    assert misuse_check([], NOW, S).status == "due"
    assert misuse_check([Screen(_days(2))], NOW, S).status == "ok"
    c = misuse_check([Screen(_days(2), signs=("craving",))], NOW, S)
    assert c.status == "hold" and "craving" in c.reason
    old = _days(S.misuse_interval_days) - timedelta(seconds=1)
    assert misuse_check([Screen(old)], NOW, S).status == "due"
    with pytest.raises(InvalidValue):
        misuse_check([Screen(_days(2), signs=("made_up",))], NOW, S)


def test_cumulative_dose_rolling_window_boundary():
    w = S.window_days
    doses = [
        DoseGiven(_days(w), "racemic_ketamine", 40.0, 0.5),  # exactly one window ago: outside
        DoseGiven(_days(w) + timedelta(seconds=1), "racemic_ketamine", 40.0, 0.5),
        DoseGiven(_days(1), "esketamine", 84.0, None),
        DoseGiven(NOW + timedelta(days=1), "racemic_ketamine", 40.0, 0.5),  # not given yet
    ]
    t = cumulative_dose(doses, NOW, S)
    assert (t.racemic_course_mg, t.racemic_window_mg, t.racemic_window_mg_per_kg) == (80.0, 40.0, 0.5)
    assert (t.esketamine_course_mg, t.esketamine_window_mg, t.sessions) == (84.0, 84.0, 3)


def test_cumulative_dose_levels():
    def racemic(n: int, per_kg: float | None) -> list[DoseGiven]:
        return [DoseGiven(_days(i + 1), "racemic_ketamine", 40.0, per_kg) for i in range(n)]

    assert dose_check(cumulative_dose(racemic(8, 0.5), NOW, S), S).status == "ok"  # 4.0 mg/kg: at the level
    assert dose_check(cumulative_dose(racemic(9, 0.5), NOW, S), S).status == "due"  # 4.5 > 4.0
    assert dose_check(cumulative_dose(racemic(13, 0.5), NOW, S), S).status == "hold"  # 6.5 > 6.0
    unknown = dose_check(cumulative_dose(racemic(13, None), NOW, S), S)
    assert unknown.status == "ok" and "weight missing" in unknown.reason  # never guessed
    esk = [DoseGiven(_days(i * 3 + 1), "esketamine", 84.0, None) for i in range(9)]  # 756 mg in 25 days
    c = dose_check(cumulative_dose(esk, NOW, S), S)
    assert c.status == "hold" and c.source == "spravato-label"
    assert dose_check(cumulative_dose(esk[:8], NOW, S), S).status == "ok"  # 672 mg: the label's maximum
