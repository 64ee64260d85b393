"""The session chart (issue #12 point 5): systolic and diastolic BP, heart rate, SpO2 and respiratory rate on one
time axis, every alert limit of the clinic's rules drawn and labelled, a legend, a title and description for screen
readers pointing at the readings table, and values beyond a limit ringed (a shape), not only coloured."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime, timedelta
from importlib import resources
from types import SimpleNamespace

from ketacare.domain.sessions import load_alert_rules
from ketacare.domain.sessions.limits import vital_limits
from ketacare.services.sessions.schemas import VitalRow
from ketacare.web.charts import vitals_chart_svg
from ketacare.web.sessions import live

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _row(i: int, sbp, dbp, hr, spo2, rr) -> VitalRow:
    at = T0 + timedelta(minutes=5 * i)
    return VitalRow(id=i + 1, measured_at=at, received_at=at, sbp=sbp, dbp=dbp, hr=hr, spo2=spo2, rr=rr,
                    temp_c=None, on_oxygen=False, context="during", source="gateway")  # fmt: skip


READINGS = [
    _row(0, 128, 80, 72, 98, 14),
    _row(1, 146, 92, 80, 97, 15),
    _row(2, 186, 104, 96, 95, 16),  # beyond the 180/110 rule's systolic limit
    _row(3, 150, 95, 84, 90, 9),  # SpO2 and RR beyond their limits
]


def _chart(rows=READINGS) -> str:
    return live.vitals_chart(SimpleNamespace(vitals=rows), lambda at: at.strftime("%H:%M"), "(UTC)")


def _shipped_limits() -> set[tuple[str, str]]:
    """(vital, value) of every threshold condition of the shipped rules, read from the data file itself."""
    text = resources.files("ketacare.domain.sessions.data").joinpath("alert_rules.toml").read_text()
    rules = tomllib.loads(text)["rules"]
    return {
        (c["vital"], f"{c['value']:g}")
        for r in rules
        if r["kind"] == "threshold" and r.get("enabled", True)
        for c in r["conditions"]
    }


def test_all_five_series_are_drawn_with_a_legend():
    svg = _chart()
    for key, label in (("sbp", "Systolic BP"), ("dbp", "Diastolic BP"), ("hr", "Heart rate"), ("spo2", "SpO2"),
                       ("rr", "Respiratory rate")):  # fmt: skip
        assert f'data-series="{key}"' in svg, key
        assert f'data-legend="{key}"' in svg and f">{label} (" in svg, key
        assert len(re.findall(rf'class="pt s-{key}\b', svg)) == len(READINGS), key
    for panel in ("Blood pressure (mmHg)", "Heart rate (/min)", "SpO2 (%)", "Respiratory rate (/min)"):
        assert panel in svg


def test_every_alert_limit_of_the_rules_is_drawn_and_labelled():
    svg = _chart()
    drawn = set(re.findall(r'data-limit="(\w+):([\d.]+)"', svg))
    assert drawn == _shipped_limits()
    assert "SBP ≥ 180" in svg and "SpO2 &lt; 92" in svg and "RR &lt; 10" in svg
    assert "alert limit (high priority)" in svg  # the legend explains the dashed lines


def test_the_limits_follow_the_rules_a_clinic_sets(monkeypatch):
    rules = load_alert_rules({"bp_severe": {"thresholds": {"sbp": 170}}})
    monkeypatch.setattr(live.live, "limits", lambda: vital_limits(rules))
    svg = _chart()
    assert 'data-limit="sbp:170"' in svg and 'data-limit="sbp:180"' not in svg


def test_values_beyond_a_limit_are_ringed_and_named_not_only_coloured():
    svg = _chart()
    abnormal = re.findall(r'<g class="pt s-(\w+) abnormal"><title>([^<]*)</title><circle [^>]*class="abn-ring"', svg)
    assert ("sbp", "09:10: Systolic BP 186 mmHg, high: beyond an alert limit") in abnormal
    assert {k for k, _ in abnormal} == {"sbp", "spo2", "rr"}
    assert any(k == "spo2" and "low" in t for k, t in abnormal)


def test_screen_readers_get_a_title_a_description_and_the_readings_table():
    svg = _chart()
    assert 'role="img"' in svg
    assert re.search(r'aria-labelledby="vitals-chart-t"', svg)
    assert 'aria-describedby="vitals-chart-t vitals-chart-d readings-table"' in svg
    desc = re.search(r"<desc[^>]*>([^<]*)</desc>", svg).group(1)
    assert "20 values from 09:00 to 09:15 (UTC)" in desc
    assert "Latest: Systolic BP 150 mmHg; Diastolic BP 95 mmHg; Heart rate 84 /min; SpO2 90 %" in desc
    assert "beyond a limit" in desc and "SpO2 90 % at 09:15 (low)" in desc


def test_an_empty_chart_says_so():
    assert vitals_chart_svg([], title="Vital signs", x_label=str) == '<p class="muted">No vital signs recorded yet.</p>'
    assert "No vital signs" in _chart(rows=[])
