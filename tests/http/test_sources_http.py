"""The sources page and the citations on the demo clinic's pages, as a clinician would follow them.

A small demo clinic is seeded; its screening, dose order, session, PK explorer and questionnaire pages are rendered
as the staff who use them. Each page must cite in "Author Year" form, every citation must link to an entry on
/sources, and no page may show a tag of the team's internal notes.
"""

from __future__ import annotations

import re
import shutil

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ketacare.app import create_app
from ketacare.config import Settings
from ketacare.demo.patients import seed
from ketacare.domain.sources import bibliography, labels
from ketacare.http.access import SESSION_COOKIE
from ketacare.store.db import Database
from ketacare.store.tables import User
from ketacare.store.tables.dosing import DoseOrderRecord
from ketacare.store.tables.eligibility import EligibilityEvaluation
from ketacare.store.tables.sessions import InfusionSession, SessionAlert
from tests.domain.test_sources import INTERNAL
from tests.http.conftest import issue_token

STAFF = ["prescriber", "nurse", "therapist", "frontdesk", "researcher", "admin"]
RAW_KEYS = [k for k in [*bibliography(), *labels()] if re.search(r"[\d-]", k)]
CITE = re.compile(r'<a class="cite" href="/sources#([^"]+)"[^>]*>([^<]+)</a>')


@pytest.fixture(scope="module")
def demo(sqlite_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("sources-demo") / "demo.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    seed(db, n_patients=20)
    app = create_app(Settings(database_url=db.url, demo=True), db=db)
    with db.session() as s:
        ids = {u.username: u.id for u in s.scalars(select(User))}

    def client(username: str | None) -> TestClient:
        c = TestClient(app, follow_redirects=False)
        if username:
            c.cookies.set(SESSION_COOKIE, issue_token(db, ids[username]))
        return c

    client.db = db
    yield client
    db.dispose()


def _one(db: Database, stmt):
    with db.session() as s:
        return s.execute(stmt.limit(1)).first()


def _demo_pages(demo) -> dict[str, tuple[str, str]]:
    """Page name -> (who reads it, URL) for the pages that carry clinical sources."""
    db = demo.db
    screened = _one(db, select(EligibilityEvaluation.patient_id).where(
        EligibilityEvaluation.decision == "not_eligible", EligibilityEvaluation.superseded_at.is_(None)))[0]
    cautioned = _one(db, select(EligibilityEvaluation.patient_id).where(
        EligibilityEvaluation.decision == "eligible_with_cautions", EligibilityEvaluation.superseded_at.is_(None)))[0]
    order = _one(db, select(DoseOrderRecord.patient_id, DoseOrderRecord.id).where(
        DoseOrderRecord.status == "double_checked"))
    alerted = _one(db, select(SessionAlert.session_id))
    session = alerted[0] if alerted else _one(db, select(InfusionSession.id))[0]
    return {
        "screening (not eligible)": ("prescriber", f"/patients/{screened}/screening"),
        "screening (cautions)": ("prescriber", f"/patients/{cautioned}/screening"),
        "dose order": ("prescriber", f"/patients/{order[0]}/dose-orders/{order[1]}"),
        "session": ("nurse", f"/sessions/{session}"),
        "PK explorer": ("prescriber", "/pk?r1_protocol=iv-standard&r1_mg_per_kg=0.5&r1_duration_min=40"),
        "questionnaire entry": ("nurse", f"/patients/{screened}/questionnaires/gad7"),
        "scores": ("prescriber", f"/patients/{screened}/scores"),
        "rescue formulary": ("prescriber", "/admin/rescue-formulary"),
    }


def _anchors(html: str) -> set[str]:
    return set(re.findall(r'<li id="([^"]+)"', html))


@pytest.mark.parametrize("persona", STAFF)
def test_every_signed_in_role_reaches_the_sources_page_from_the_navigation(demo, persona):
    home = demo(persona).get("/", follow_redirects=True)
    assert '<a href="/sources">Sources</a>' in home.text
    r = demo(persona).get("/sources")
    assert r.status_code == 200 and "<h1>Sources</h1>" in r.text


def test_a_patient_can_look_a_source_up_and_an_anonymous_visitor_is_sent_to_log_in(demo):
    assert demo("patient1").get("/sources").status_code == 200
    r = demo(None).get("/sources")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_the_sources_page_lists_every_key_with_its_author_year_and_what_it_supports(demo):
    html = demo("nurse").get("/sources").text
    assert _anchors(html) == set(bibliography())
    for key, s in bibliography().items():
        entry = html.split(f'<li id="{key}">', 1)[1].split("</li>", 1)[0]
        assert f'<strong class="cite-key">{s.short}</strong>' in entry.replace("&#39;", "'"), key
        assert "Supports:" in entry and "Read:" in entry
    for text in labels().values():
        assert text in html
    assert not INTERNAL.search(html)


def test_the_api_resolves_every_key_for_other_programs(demo):
    body = demo("nurse").get("/api/v1/sources").json()
    assert {s["key"] for s in body["sources"]} == set(bibliography())
    assert next(s for s in body["sources"] if s["key"] == "sanacora2017")["cite_as"] == "Sanacora 2017"
    assert body["labels"]["clinic-default"] == "clinic default, not from a published guideline"


def test_demo_pages_cite_author_year_linked_to_the_sources_page_and_show_no_internal_tag(demo):
    anchors = _anchors(demo("nurse").get("/sources").text)
    for name, (who, url) in _demo_pages(demo).items():
        r = demo(who).get(url)
        assert r.status_code == 200, f"{name}: {url} -> {r.status_code}"
        leak = INTERNAL.search(r.text)
        assert leak is None, f"{name} shows an internal tag: {r.text[max(0, leak.start() - 80):leak.end() + 40]}"
        cites = CITE.findall(r.text)
        assert cites, f"{name} cites no source"
        for key, shown in cites:
            assert key in anchors, f"{name}: citation {shown} links to /sources#{key}, which does not exist"
            assert shown.replace("&#39;", "'") == bibliography()[key].short
        text = re.sub(r"<[^>]+>", " ", r.text)  # what a reader sees, tooltips included (not link targets)
        raw = [k for k in RAW_KEYS if re.search(rf"(?<![\w/#.-]){re.escape(k)}(?![\w-])", text)]
        assert raw == [], f"{name} shows citation keys instead of Author Year: {raw}"


def test_other_clinical_pages_show_no_internal_tag_and_no_raw_key(demo):
    pages = _demo_pages(demo)
    patient = pages["dose order"][1].split("/")[2]
    for who, url in [("prescriber", f"/patients/{patient}"), ("prescriber", f"/patients/{patient}/dose-orders"),
                     ("nurse", "/board"), ("nurse", "/sessions"), ("prescriber", "/dashboard"),
                     ("prescriber", "/questionnaires/due")]:
        r = demo(who).get(url)
        assert r.status_code == 200, url
        assert INTERNAL.search(r.text) is None, url
        text = re.sub(r"<[^>]+>", " ", r.text)
        assert [k for k in RAW_KEYS if re.search(rf"(?<![\w/#.-]){re.escape(k)}(?![\w-])", text)] == [], url
        for key, _shown in CITE.findall(r.text):
            assert key in bibliography(), url


def test_the_screening_decision_names_its_rule_sources_as_author_year(demo):
    (who, url) = _demo_pages(demo)["screening (not eligible)"]
    html = demo(who).get(url).text
    shown = {s.replace("&#39;", "'") for _k, s in CITE.findall(html)}
    assert shown & {"Spravato label", "Swiss ketamine product information", "Bokma 2019", "Domschke 2024",
                    "Ketalar label", "Miller's Anesthesia", "ED ketamine protocol (SCIRP)", "Andrashko 2020"}


def test_the_session_page_names_the_source_of_each_alert_rule(demo):
    db = demo.db
    alerted = _one(db, select(SessionAlert.session_id))
    if alerted is None:
        pytest.skip("the seeded demo raised no alert")
    html = demo("nurse").get(f"/sessions/{alerted[0]}").text
    alerts = html.split('id="alerts"', 1)[1].split("</section>", 1)[0]
    assert "Source:" in alerts and CITE.search(alerts)


def _pdf_text(pdf: bytes) -> str:
    """The text of every page as a reader sees it (pypdf), wrapped lines joined by single spaces."""
    import io

    from pypdf import PdfReader

    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def test_the_session_record_pdf_prints_each_alert_source_as_author_year(demo):
    alerted = _one(demo.db, select(SessionAlert.session_id))
    if alerted is None:
        pytest.skip("the seeded demo raised no alert")
    r = demo("nurse").get(f"/sessions/{alerted[0]}/record.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = _pdf_text(r.content)
    assert "Advised:" in text
    assert re.search(r"Advised: .*\(.*(Kim 2015|Spravato|ED ketamine protocol|clinic default)", text)
    assert INTERNAL.search(text) is None
    assert [k for k in RAW_KEYS if k in text] == []
