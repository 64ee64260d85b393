"""Every response says how long the server spent on it (`Server-Timing: app;dur=<ms>, cpu;dur=<ms>`), pages and
streams alike."""

from __future__ import annotations

import re

TIMING = re.compile(r"^app;dur=(\d+\.\d), cpu;dur=(\d+\.\d)$")


def _dur(resp) -> float:
    m = TIMING.match(resp.headers["server-timing"])
    assert m, resp.headers["server-timing"]
    return float(m.group(1))


def test_board_page_and_events_carry_the_server_time(clients):
    nurse = clients.web("nurse")
    page = nurse.get("/board")
    assert page.status_code == 200
    assert _dur(page) >= 0.0
    assert page.headers["content-security-policy"]  # the security headers are still there
    events = nurse.get("/board/events")  # not an EventSource: one snapshot, then the stream ends
    assert events.status_code == 200
    assert events.text.startswith("retry: 1000\nevent: snapshot")
    assert _dur(events) >= 0.0


def test_refusals_and_health_checks_carry_it_too(clients):
    assert clients.web(None).get("/board").status_code in {303, 401}
    assert _dur(clients.web(None).get("/board")) >= 0.0
    assert _dur(clients.api(None).get("/healthz")) >= 0.0
    assert len(clients.api(None).get("/healthz").headers.get_list("server-timing")) == 1
