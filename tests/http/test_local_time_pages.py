"""Local time everywhere (issue 13): pages show and take times in the clinic's zone, labelled; across the night the
clocks go back (America/New_York 2026-11-01, 02:00 EDT -> 01:00 EST) times keep their own label and durations
are real elapsed time; a time typed in the repeated hour is refused until the zone is said."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from ketacare.services import clinic
from tests.http.test_sessions_http import API, _reading, infusing, now  # noqa: F401 - fixtures

BEFORE_CHANGE = datetime(2026, 11, 1, 5, 20, tzinfo=UTC)  # 01:20 EDT, 40 minutes before the clocks go back


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", html))


@pytest.fixture
def new_york(clients, now):  # noqa: F811 - pytest fixture
    """The clinic is in New York, and it is 01:20 EDT on the night the clocks go back."""
    now.t = BEFORE_CHANGE
    data = clinic.ClinicSettingsUpdate(
        name="Night Clinic (test)", timezone="America/New_York", base_version=0, reason="test",
        crisis_lines=[clinic.CrisisLine(country="United States", name="Emergency", number="911", when="Danger")],
    )  # fmt: skip
    clinic.save(db=clients.personas.db, actor=clients.personas["admin"], data=data)


def test_a_session_on_the_night_the_clocks_go_back_shows_local_times_and_real_durations(
    clients,
    now,  # noqa: F811
    new_york,
    infusing,  # noqa: F811
):
    nurse = clients.api("nurse")
    start = now.t
    r = nurse.post(f"{API}/sessions/{infusing}/infusion-events", json={"kind": "start", "rate_mg_per_min": 0.7,
                                                                       "at": start.isoformat()})  # fmt: skip
    assert r.status_code == 201, r.text
    first = start + timedelta(minutes=30)  # 05:50 UTC = 01:50 EDT
    second = start + timedelta(minutes=50)  # 06:10 UTC = 01:10 EST: 20 minutes later, the clock reads 40 earlier
    now.t = second
    nurse = clients.api("nurse")  # a fresh login: the first one has been idle for 50 minutes
    readings = [_reading("a", first, sbp=131), _reading("b", second, sbp=132)]
    r = nurse.post(f"{API}/sessions/{infusing}/vitals/batch", json={"readings": readings})
    assert r.status_code == 200, r.text
    page = _text(clients.web("nurse").get(f"/sessions/{infusing}").text)
    assert "infusion started 01:20:00 EDT" in page
    assert "50 min since start" in page  # real elapsed time, not the wall-clock difference (-10 min)
    assert "times EST, 24-hour" in page
    assert "01:50:00 EDT" in page  # the earlier reading keeps its own label under the "(EST)" header
    assert "01:10:00 01:10:00 132/80" in page  # the later one in EST, as the header says
    # the chart's points too: named when their zone differs from the header's (EST)
    assert "01:50 EDT: Systolic BP 131 mmHg" in page and "01:10: Systolic BP 132 mmHg" in page
    now.t = second + timedelta(minutes=10)
    nurse = clients.api("nurse")
    r = nurse.post(f"{API}/sessions/{infusing}/infusion-events", json={"kind": "stop", "at": now.t.isoformat()})
    assert r.status_code == 201, r.text
    page = _text(clients.web("nurse").get(f"/sessions/{infusing}").text)
    # started 01:20 EDT, stopped 01:20 EST: the wall clock says no time passed, the infusion ran one hour
    assert "1 h since start" in page
    assert "01:20:00 EDT start" in page and "01:20:00 stop" in page  # the stop is in EST, as the header says
    assert "42.0 mg given" in page  # 0.7 mg/min for 60 minutes


def test_a_time_typed_in_the_repeated_hour_is_refused_until_the_zone_is_said(
    clients,
    now,  # noqa: F811
    new_york,
    infusing,  # noqa: F811
):
    web = clients.web("nurse")
    before = clients.api("nurse").get(f"{API}/sessions/{infusing}").json()
    version = before["version"]
    r = web.post(f"/sessions/{infusing}/checks", data={"version": version, "last_food_at": "2026-11-01 01:10"})
    assert r.status_code == 422
    text = _text(r.text)
    assert "happened twice" in text and "2026-11-01 01:10 EDT" in text and "2026-11-01 01:10 EST" in text
    assert 'value="2026-11-01 01:10"' in r.text  # what was typed is kept
    assert clients.api("nurse").get(f"{API}/sessions/{infusing}").json()["last_food_at"] == before["last_food_at"]
    r = web.post(f"/sessions/{infusing}/checks", data={"version": version, "last_food_at": "2026-11-01 01:10 EDT"})
    assert r.status_code == 303, r.text[:500]
    stored = clients.api("nurse").get(f"{API}/sessions/{infusing}").json()["last_food_at"]
    assert datetime.fromisoformat(stored) == datetime(2026, 11, 1, 5, 10, tzinfo=UTC)


def test_entry_fields_are_labelled_with_the_clinics_zone_not_utc(clients, now, new_york, infusing):  # noqa: F811
    page = clients.web("nurse").get(f"/sessions/{infusing}").text
    assert "Last food (EST)" in page or "Last food (EDT)" in page
    assert "(UTC)" not in page
