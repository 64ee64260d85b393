"""Accessibility (issue 13): axe-core (axe-playwright-python, bundled, no network) on the 22 most used pages of the
demo clinic, each as the role that uses it, in real Chromium; no serious or critical violation."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.conftest import login

BAD = {"serious", "critical"}


def _ids(db_url: str) -> dict[str, int]:
    engine = create_engine(db_url)
    with engine.connect() as c:
        sid, pid, oid = c.execute(
            text(
                "SELECT id, patient_id, dose_order_id FROM infusion_sessions WHERE dose_order_id IS NOT NULL "
                "ORDER BY (state = 'infusing') DESC, id LIMIT 1"
            )
        ).one()
        me = c.execute(text("SELECT patient_id FROM users WHERE username = 'patient1'")).scalar_one()
    engine.dispose()
    return {"sid": sid, "pid": pid, "oid": oid, "me": me}


def _pages(ids: dict[str, int]) -> list[tuple[str | None, str]]:
    pid, sid, oid = ids["pid"], ids["sid"], ids["oid"]
    return [
        (None, "/login"),
        ("frontdesk", "/patients"),
        ("frontdesk", "/patients/new"),
        ("nurse", f"/patients/{pid}"),
        ("nurse", "/board"),
        ("nurse", "/sessions"),
        ("nurse", f"/sessions/{sid}"),
        ("nurse", f"/patients/{pid}/dose-orders/{oid}"),
        ("nurse", "/questionnaires/due"),
        ("nurse", f"/patients/{pid}/questionnaires/gad7"),
        ("prescriber", "/dashboard"),
        ("prescriber", f"/patients/{pid}/screening"),
        ("prescriber", f"/patients/{pid}/dose-orders"),
        ("prescriber", f"/patients/{pid}/scores"),
        ("prescriber", "/pk"),
        ("prescriber", "/admin/rescue-formulary"),
        ("admin", "/admin/audit"),
        ("nurse", "/sources"),
        ("patient1", "/me"),
        ("patient1", "/me/questionnaires"),
        ("patient1", "/me/appointments"),  # issue 17 point 5: the portal's appointments
        ("researcher", "/outcomes"),

        ("patient1", "/me/consent/racemic-iv"),  # issue 16: read and sign the consent
        ("prescriber", f"/patients/{pid}/consent"),  # issue 16: signatures and countersigning
        ("frontdesk", "/admin/messages"),  # issue 17: the message log
        ("admin", "/admin/messages/templates"),  # issue 17: message templates
        ("patient1", "/me/messages"),  # issue 17: opting out of reminders
    ]


def test_the_20_most_used_pages_have_no_serious_accessibility_violation(demo_server, browser):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    ids = _ids(demo_server.db_url)
    found: list[str] = []
    contexts: dict[str | None, object] = {}
    try:
        for who, path in _pages(ids):
            if who not in contexts:
                ctx = browser.new_context(viewport={"width": 1440, "height": 900})
                if who is not None:
                    login(ctx.new_page(), demo_server, who)
                contexts[who] = ctx
            page = contexts[who].new_page()  # type: ignore[attr-defined]
            resp = page.goto(f"{demo_server}{path}")
            assert resp is not None and resp.status == 200, f"{path} as {who}: {resp and resp.status}"
            results = axe.run(page)
            for v in results.response["violations"]:
                if v.get("impact") in BAD:
                    targets = [", ".join(n.get("target", [])) for n in v.get("nodes", [])][:3]
                    found.append(f"{path} as {who}: {v['impact']} {v['id']} ({v['help']}) at {targets}")
            page.close()
    finally:
        for ctx in contexts.values():
            ctx.close()  # type: ignore[attr-defined]
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("width", [390])
def test_the_session_page_is_usable_on_a_phone_for_axe_too(demo_server, browser, width):
    from axe_playwright_python.sync_playwright import Axe

    ids = _ids(demo_server.db_url)
    ctx = browser.new_context(viewport={"width": width, "height": 844})
    try:
        page = ctx.new_page()
        login(page, demo_server, "nurse")
        page.goto(f"{demo_server}/sessions/{ids['sid']}")
        bad = [v["id"] for v in Axe().run(page).response["violations"] if v.get("impact") in BAD]
        assert bad == []
    finally:
        ctx.close()
