"""Account pages (issues 13 and 14): forms refuse beside the field, the first login goes to the password page,
deactivation ends an open login at its next request, the security page approves with a second administrator,
an invitation reaches the patient's own email."""

from __future__ import annotations

import re
import socket
from email import message_from_bytes

from sqlalchemy import update

from ketacare.app import create_app
from ketacare.config import Settings
from ketacare.services.access import users
from ketacare.services.access.schemas import UserCreate
from ketacare.store.tables import Patient
from tests.conftest import PASSWORD

TEMP = "temporary-chair-lamp-42"
NEW = "violet-harbour-ninety-kites"


def _login(client, username, password):
    return client.post("/login", data={"username": username, "password": password})


def test_new_account_form_refuses_beside_each_field_and_keeps_what_was_typed(clients):
    admin = clients.web("admin")
    r = admin.post("/admin/users/new", data={"username": "x", "display_name": "", "role": "nurse",
                                             "password": "password123456", "credentials": "RN"})
    assert r.status_code == 422
    html = r.text
    assert 'class="error-summary"' in html
    assert re.search(r'id="e-c-display_name"', html) and re.search(r'id="e-c-username"', html)
    assert 'value="RN"' in html and "password123456" not in html  # typed values kept, never the password
    r = admin.post("/admin/users/new", data={"username": "nina", "display_name": "Nina Park", "role": "researcher",
                                             "password": "password123456"})
    assert r.status_code == 422 and 'id="e-c-password"' in r.text and "commonly used password" in r.text


def test_first_login_goes_to_the_password_page_before_anything_else(clients):
    admin = clients.web("admin")
    r = admin.post("/admin/users/new", data={"username": "rita", "display_name": "Rita Ray", "role": "researcher",
                                             "password": TEMP})
    assert r.status_code == 303 and r.headers["location"].startswith("/admin/users/rita")
    rita = clients.web(None)
    assert _login(rita, "rita", TEMP).status_code == 303
    for path in ("/welcome", "/sources", "/account"):
        r = rita.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/account/password", path
    page = rita.get("/account/password")
    assert page.status_code == 200 and "Choose your password" in page.text
    weak = rita.post("/account/password", data={"current_password": TEMP, "new_password": "aaaaaaaaaaaaaa",
                                                "confirm_password": "aaaaaaaaaaaaaa"})
    assert weak.status_code == 422 and 'id="e-new_password"' in weak.text and "Repeats like" in weak.text
    done = rita.post("/account/password", data={"current_password": TEMP, "new_password": NEW,
                                                "confirm_password": NEW})
    assert done.status_code == 303
    assert rita.get("/welcome").status_code == 200


def test_deactivating_ends_an_open_login_at_its_next_request(clients):
    nurse = clients.web("nurse")
    assert nurse.get("/patients").status_code == 200
    admin = clients.web("admin")
    r = admin.post("/admin/users/nurse/deactivate", data={"confirm": "nurse", "active": "0"})
    assert r.status_code == 303
    r = nurse.get("/patients")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert "deactivated" in admin.get("/admin/users/nurse").text


def test_an_empty_deactivation_form_changes_nothing(clients):
    r = clients.web("admin").post("/admin/users/nurse/deactivate", data={})
    assert r.status_code == 422
    assert clients.web("nurse").get("/patients").status_code == 200


def test_security_page_second_administrator_approves(clients, web_personas):
    users.create_user(db=web_personas.db, actor=web_personas["system"], data=UserCreate(
        username="admin2", display_name="Robin Hale", role="admin", password=PASSWORD))
    admin = clients.web("admin")
    r = admin.post("/admin/users/new", data={"username": "nina", "display_name": "Nina Park", "credentials": "RN",
                                             "role": "nurse", "password": TEMP})
    assert r.status_code == 303 and r.headers["location"].startswith("/admin/security?requested=")
    page = admin.get("/admin/security").text
    assert "new nurse account nina" in page and "another administrator approves" in page
    change_id = re.search(r"/admin/security/changes/(\d+)/reject", page).group(1)
    own = admin.post(f"/admin/security/changes/{change_id}/approve", data={})
    assert own.status_code == 403 and "a second administrator approves it" in own.text
    second = clients.web(None)
    _login(second, "admin2", PASSWORD)
    assert second.post(f"/admin/security/changes/{change_id}/approve", data={}).status_code == 303
    assert "Nina Park, RN" in admin.get("/admin/users").text


def test_admin_reads_no_chart(clients, web_personas):
    assert clients.web("admin").get(f"/patients/{web_personas.patient_a}").status_code == 403
    assert clients.api("admin").get(f"/api/v1/patients/{web_personas.patient_a}").status_code == 403


def test_reset_link_page_sets_a_password_once(clients):
    admin = clients.web("admin")
    r = admin.post("/admin/users/therapist/reset-link", data={"confirm": "therapist"})
    link = re.search(r'value="https?://[^/"]+(/password/[^"]+)"', r.text).group(1)
    anon = clients.web(None)
    assert "therapist" in anon.get(link).text
    bad = anon.post(link, data={"new_password": NEW, "confirm_password": NEW + "x"})
    assert bad.status_code == 422 and 'id="e-confirm_password"' in bad.text
    assert anon.post(link, data={"new_password": NEW, "confirm_password": NEW}).status_code == 303
    assert anon.get(link).status_code == 410
    assert _login(clients.web(None), "therapist", NEW).status_code == 303


def test_totp_enrolment_page_shows_an_inline_svg_qr(clients):
    r = clients.web("nurse").post("/account/totp/start", data={})
    assert r.status_code == 200 and '<svg' in r.text and "otpauth://" not in r.text
    assert "<script" not in r.text.split("</head>")[1]


def test_break_glass_form_and_banner(clients, web_personas):
    fd = clients.web("frontdesk")
    r = fd.post("/break-glass", data={"reason": "", "minutes": "30"})
    assert r.status_code == 422 and 'id="e-reason"' in r.text
    assert fd.post("/break-glass", data={"reason": "patient collapsed in the waiting room",
                                         "minutes": "15"}).status_code == 303
    chart = fd.get(f"/patients/{web_personas.patient_a}")
    assert "Emergency access is open" in chart.text
    page = clients.web("admin").get("/admin/security").text
    assert "patient collapsed in the waiting room" in page and "Record review" in page


class _Mailbox:
    """A local SMTP server (aiosmtpd) that keeps what it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list = []
        box = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                box.messages.append(message_from_bytes(envelope.content))
                return "250 OK"

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def test_portal_invitation_goes_to_the_patients_own_email(sqlite_db, web_personas):
    with _Mailbox() as box:
        port = box.port
        app = create_app(Settings(database_url=sqlite_db.url, smtp_host="127.0.0.1", smtp_port=port,
                                  public_url="http://clinic.test"), db=sqlite_db)
        from tests.http.conftest import Clients

        clients = Clients(app, web_personas)
        with sqlite_db.session() as s:
            s.execute(update(Patient).where(Patient.id == web_personas.patient_b).values(email="bob@example.test"))
        r = clients.web("admin").post("/admin/users/invite", data={
            "patient_id": str(web_personas.patient_b), "username": "bob.berg", "display_name": "Bob Berg"})
        assert r.status_code == 303
        assert len(box.messages) == 1 and box.messages[0]["To"] == "bob@example.test"
        body = box.messages[0].get_payload()
        link = re.search(r"http://clinic\.test(/password/\S+)", body).group(1)
    anon = clients.web(None)
    assert anon.post(link, data={"new_password": NEW, "confirm_password": NEW}).status_code == 303
    bob = clients.web(None)
    assert _login(bob, "bob.berg", NEW).status_code == 303
    assert bob.get("/me").status_code in (200, 303)
    no_email = clients.web("admin").post("/admin/users/invite", data={
        "patient_id": str(web_personas.patient_a), "username": "alice.a", "display_name": "Alice"})
    assert no_email.status_code == 422 and 'id="e-i-patient_id"' in no_email.text
