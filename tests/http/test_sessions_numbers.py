"""Numbers for people on the session page, the live board and the PDF record (issue 12 point 7): durations,
elapsed time since start, doses to the protocol's step, times in the clinic's zone labelled with it."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest

from ketacare.app import create_app
from ketacare.config import Settings
from ketacare.domain import formatting as fmt
from tests.http.test_sessions_http import API, _reading, infusing, now  # noqa: F401 - fixtures

ZONE = "Europe/Berlin"
RAW_FLOAT = re.compile(r"\d+\.\d{4,}|\d[eE]-\d")  # "0.0119386", "2.6e-05"


@pytest.fixture
def app(sqlite_db, web_personas):
    return create_app(Settings(database_url=sqlite_db.url, login_max_failures=3, timezone=ZONE), db=sqlite_db)


def _visible(html: str) -> str:
    """What a person reads: the page without tags (machine-readable attributes such as datetime= go)."""
    return re.sub(r"<[^>]*>", " ", html)


def _pdf_text(pdf: bytes) -> str:
    """The text of every page as a reader sees it (pypdf), wrapped lines joined by single spaces."""
    from pypdf import PdfReader

    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


@pytest.fixture
def charted(clients, now, infusing):  # noqa: F811 - pytest fixtures
    """An infusion 24 min 47 s under way: pump started at 0.7 mg/min, a 186/104 reading 0.7 s after start."""
    nurse = clients.api("nurse")
    start = now.t
    r = nurse.post(
        f"{API}/sessions/{infusing}/infusion-events",
        json={"kind": "start", "rate_mg_per_min": 0.7, "at": start.isoformat()},
    )
    assert r.status_code == 201, r.text
    now.t = start + timedelta(minutes=24, seconds=47)
    odd = start + timedelta(seconds=0.7)
    r = nurse.post(
        f"{API}/sessions/{infusing}/vitals/batch", json={"readings": [_reading("odd", odd, sbp=186, dbp=104)]}
    )
    assert r.status_code == 200, r.text
    return infusing, start


def _given(clients, sid) -> float:
    return clients.api("nurse").get(f"{API}/sessions/{sid}").json()["dose"]["delivered_mg"]


def test_the_session_page_reads_like_a_nurse_writes(clients, now, charted):  # noqa: F811
    sid, start = charted
    tz = fmt.zone(ZONE)
    page = clients.web("nurse").get(f"/sessions/{sid}")
    assert page.status_code == 200
    text = page.text
    assert "24 min 47 s</span> since start" in text
    assert f"times {fmt.zone_label(tz, now.t)}, 24-hour" in text
    assert f"infusion started {fmt.clock_time(start, tz)}" in text  # local time, labelled
    assert (
        fmt.clock_time(start + timedelta(seconds=0.7), tz, label=False) in text
    )  # the reading's device time
    assert "mmHg at 1 s" in text  # the alert trigger: not "at 0.0116667 min"
    given = _given(clients, sid)  # about 0.7 mg/min x 24.8 min, unrounded
    assert f'{fmt.mg(given)}</span> given of <span class="num">35.0 mg</span> ordered' in text
    assert re.search(r"<span class=\"num\">\d+\.\d mg</span> given", text)  # to the protocol's 0.1 mg step
    assert "25 min 12 s</span> left" in text
    zl = fmt.zone_label(tz, now.t)
    # the chart's time axis is in the clinic's zone too, labelled (it was UTC, unlabelled)
    assert re.search(rf"\d+ values from \d\d:\d\d to \d\d:\d\d \({zl}\)", text)
    # the ordered-vs-given difference carries its sign and the dose step
    assert re.search(r"\(difference <span class=\"num\">-\d+\.\d mg</span>, -\d+\.\d %\)", text)
    assert not RAW_FLOAT.search(_visible(text)), RAW_FLOAT.search(_visible(text))


def test_the_board_shows_elapsed_time_and_local_clock(clients, now, charted):  # noqa: F811
    sid, start = charted
    tz = fmt.zone(ZONE)
    board = clients.web("nurse").get("/board")
    assert board.status_code == 200
    chair = board.text[board.text.index(f'id="chair-{sid}"') :]
    assert (
        "24 min 48 s</span> since start" in chair or "24 min 47 s</span> since start" in chair
    )  # 0.1-min steps
    assert f"Times are {fmt.zone_label(tz, now.t)}, 24-hour" in board.text
    assert f'data-tz="{ZONE}"' in board.text  # board.js shows its status times in the same zone
    assert fmt.clock_time(start + timedelta(seconds=0.7), tz, label=False) in chair
    assert f"{fmt.mg(_given(clients, sid))}</span> given" in chair and "25 min 12 s</span> left" in chair
    assert not RAW_FLOAT.search(_visible(board.text)), RAW_FLOAT.search(_visible(board.text))


def test_the_pdf_record_uses_the_same_formats(clients, now, charted):  # noqa: F811
    sid, start = charted
    tz = fmt.zone(ZONE)
    r = clients.web("nurse").get(f"/sessions/{sid}/record.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    text = _pdf_text(r.content)
    assert f"all times {fmt.zone_label(tz, start)} ({ZONE}), 24-hour clock" in text
    assert f"Ordered 35.0 mg; delivered {fmt.mg(_given(clients, sid))}" in text
    assert f"Time ({fmt.zone_label(tz, start)})" in text  # each table names the zone of its times
    assert fmt.clock_time(start, tz, seconds=True, label=False) in text
    assert "mmHg at 1 s" in text
    assert not RAW_FLOAT.search(text), RAW_FLOAT.search(text)


def test_the_sessions_list_shows_scheduled_times_in_the_clinic_zone(clients, now, charted):  # noqa: F811
    sid, start = charted
    tz = fmt.zone(ZONE)
    listing = clients.web("nurse").get("/sessions")
    assert listing.status_code == 200
    scheduled = clients.api("nurse").get(f"{API}/sessions/{sid}").json()["scheduled_at"]
    assert f"<th>Scheduled ({fmt.zone_label(tz, now.t)})</th>" in listing.text
    assert f'<td class="num">{fmt.date_time(scheduled, tz, label=False)}</td>' in listing.text
