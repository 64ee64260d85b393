"""Patient messages on SQLite and PostgreSQL, through a local SMTP server and a fake clock advanced step by step:
each reminder goes once at its local time across the 2026-11-01 clock change in America/New_York; an opted-out
patient gets no reminder but does get the essential notice of a cancelled appointment; a failed send is logged and
tried again later, never twice after it succeeded; every message is logged and audited."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select

from ketacare.config import Settings
from ketacare.demo.clinic import EXAMPLE
from ketacare.domain.errors import InvalidValues
from ketacare.services import clinic, clock
from ketacare.services import messages as svc
from ketacare.services.errors import Forbidden, NotFound
from ketacare.services.measurement import send_reminders
from ketacare.services.scheduling import booking
from ketacare.services.scheduling.schemas import StatusChange
from ketacare.services.uow import UnitOfWork
from ketacare.store.tables import AuditEvent, Patient
from ketacare.store.tables.messages import MessageLog
from ketacare.store.tables.scheduling import Appointment, Site

controller = pytest.importorskip("aiosmtpd.controller")


def _utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


class Smtp:
    """A local SMTP server's handler: each message with the fake time it arrived; `refuse` answers 451 that often."""

    def __init__(self) -> None:
        self.got: list[tuple[datetime, object]] = []
        self.refuse = 0
        self.now = clock.now

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 mailbox busy, try again later"
        self.got.append((self.now(), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"

    def to(self, address: str) -> list[tuple[datetime, object]]:
        return [(t, m) for t, m in self.got if m["To"] == address]


@pytest.fixture(scope="module")
def smtp_server():
    """One local SMTP server for the module (starting one costs seconds); each test gets a fresh handler."""
    handler = Smtp()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = controller.Controller(handler, hostname="127.0.0.1", port=port)
    server.start()
    yield handler, port
    server.stop()


@pytest.fixture
def world(db, personas, monkeypatch, smtp_server):
    t = {"now": _utc(2026, 10, 30, 12)}
    monkeypatch.setattr(clock, "now", lambda: t["now"])
    handler, port = smtp_server
    handler.got, handler.refuse, handler.now = [], 0, lambda: t["now"]
    clinic.seed(db=db, actor=personas["system"], data=EXAMPLE, reason="test: New York clinic")
    with db.session() as s:
        site = Site(name="Harbourview Midtown", address="12 Harbour St, New York")
        s.add(site)
        s.flush()
        for pid, email in ((personas.patient_a, "alice@example.org"), (personas.patient_b, "bob@example.org")):
            s.get(Patient, pid).email = email

        def appt(pid, type_id, dosing, starts):
            a = Appointment(site_id=site.id, patient_id=pid, type_id=type_id, dosing=dosing, starts_at=starts,
                            ends_at=starts + timedelta(hours=1), status="booked", created_at=t["now"],
                            updated_at=t["now"])  # fmt: skip
            s.add(a)
            s.flush()
            return a.id

        ids = {
            "infusion": appt(personas.patient_a, "infusion", True, _utc(2026, 11, 2, 14)),  # Mon 09:00 EST
            "consult": appt(personas.patient_b, "consultation", False, _utc(2026, 11, 2, 15)),  # Mon 10:00 EST
        }
        s.commit()
    settings = Settings(database_url=db.url, smtp_host="127.0.0.1", smtp_port=port, smtp_from="clinic@example.org")
    return t, handler, settings, ids


def _log(db) -> list[MessageLog]:
    with db.session() as s:
        return list(s.scalars(select(MessageLog).order_by(MessageLog.id)))


def test_each_reminder_goes_once_at_its_local_time_across_the_clock_change(db, personas, world):
    t, smtp, settings, ids = world
    svc.update_preference(db=db, actor=personas["patient_b"], patient_id=personas.patient_b,
                          data=svc.PreferenceUpdate(opt_out_non_essential=True))  # fmt: skip
    saved = svc.save_template(db=db, actor=personas["admin"], template_id="appointment_reminder",
                              data=svc.TemplateUpdate(subject="See you soon at {clinic_name}",
                                                      body="Your visit: {when}, {site_name}.", base_version=0,
                                                      reason="shorter"))  # fmt: skip
    assert saved.version == 1
    t["now"] = _utc(2026, 10, 31)  # Friday 20:00 EDT
    while t["now"] <= _utc(2026, 11, 2, 16):  # every hour until Monday after the visits
        if t["now"] == _utc(2026, 11, 1, 12):  # Sunday: the front desk cancels Bob's consultation
            booking.cancel(db=db, actor=personas["frontdesk"], appointment_id=ids["consult"],
                           data=StatusChange(version=1, reason="clinician ill"))  # fmt: skip
        svc.send_due(db=db, settings=settings)
        t["now"] += timedelta(hours=1)

    alice = smtp.to("alice@example.org")
    assert [when for when, _ in alice] == [
        _utc(2026, 10, 31, 13),  # 48 h before on the wall clock: Saturday 09:00 EDT
        _utc(2026, 11, 1, 23),  # the evening before at 18:00 EST (after the change)
        _utc(2026, 11, 2, 12),  # 2 h before: Monday 07:00 EST
    ]
    first, instructions, last = (m for _, m in alice)
    assert first["Subject"].startswith("See you soon at ") and last["Subject"] == first["Subject"]
    assert "Mon, Nov 2, 9:00" in first.get_content() and "Harbourview Midtown" in first.get_content()
    assert "Bring an adult" in instructions.get_content() and "Do not drive" in instructions.get_content()
    for _, m in alice:  # no clinical detail: no dose, no diagnosis
        text = m.get_content().lower()
        assert not any(w in text for w in (" mg", "dose", "diagnos", "anxiety", "depress"))
    bob = smtp.to("bob@example.org")  # opted out: no reminder, but the cancellation (essential) goes
    assert len(bob) == 1 and "cancelled" in bob[0][1]["Subject"] and bob[0][0] == _utc(2026, 11, 1, 12)

    rows = _log(db)
    by_status = {(r.patient_id, r.template_id, r.status) for r in rows}
    assert (personas.patient_b, "appointment_reminder", "skipped") in by_status
    assert sum(r.status == "sent" for r in rows) == 4 and all(r.attempts <= 1 for r in rows)
    sent = [r for r in rows if r.template_id == "appointment_reminder" and r.status == "sent"]
    assert {r.template_version for r in sent} == {1}  # the clinic's edited wording, by version
    with db.session() as s:
        audited = s.scalars(select(AuditEvent.resource_id).where(AuditEvent.resource_type == "message")).all()
    assert {str(r.id) for r in rows} <= set(audited)
    log = svc.messages(db=db, actor=personas["frontdesk"])
    assert len(log) == len(rows) and log[0].patient_name
    with pytest.raises(Forbidden):
        svc.messages(db=db, actor=personas["nurse"])


def test_a_failed_send_is_logged_and_tried_again_later_never_twice_after_success(db, personas, world):
    t, smtp, settings, ids = world
    t["now"] = _utc(2026, 11, 2, 12)  # booked late: the instructions and the 2 h reminder are both due now
    smtp.refuse = 1
    report = svc.send_due(db=db, settings=settings)
    assert report.failed == 1 and "451" in report.errors[0]
    row = next(r for r in _log(db) if r.status == "failed")
    assert row.attempts == 1 and row.next_attempt_at == t["now"] + timedelta(minutes=5) and "451" in row.detail
    assert svc.send_due(db=db, settings=settings).sent == 0  # not before its retry time
    for minutes in (5, 6, 30, 60):
        t["now"] = _utc(2026, 11, 2, 12) + timedelta(minutes=minutes)
        svc.send_due(db=db, settings=settings)
    again = next(r for r in _log(db) if r.id == row.id)
    assert again.status == "sent" and again.attempts == 2 and again.sent_at == _utc(2026, 11, 2, 12, 5)
    got = [m["Subject"] for _, m in smtp.to("alice@example.org")]
    assert len(got) == 2 and got.count(again.subject) == 1  # each message once, the retried one included
    superseded = [r for r in _log(db) if r.appointment_id == ids["infusion"] and r.status == "skipped"]
    assert [r.template_id for r in superseded] == ["appointment_reminder"]  # the 48 h one: replaced
    assert "later reminder" in superseded[0].detail


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # policy and checks only: one engine is enough
def test_templates_opt_out_and_their_access(db, personas):
    with pytest.raises(InvalidValues) as e:
        svc.save_template(db=db, actor=personas["admin"], template_id="appointment_reminder",
                          data=svc.TemplateUpdate(subject="Hi", body="Your dose: 35 mg on {when}", base_version=0,
                                                  reason="x"))  # fmt: skip
    assert "body" in e.value.errors
    with pytest.raises(Forbidden):
        svc.save_template(db=db, actor=personas["frontdesk"], template_id="appointment_reminder",
                          data=svc.TemplateUpdate(subject="Hi", body="{when}", base_version=0, reason="x"))
    assert len(svc.template_history(db=db, actor=personas["admin"], template_id="appointment_reminder")) == 1
    with pytest.raises(NotFound):  # another patient's setting: not found, as if it did not exist
        svc.update_preference(db=db, actor=personas["patient_a"], patient_id=personas.patient_b,
                              data=svc.PreferenceUpdate(opt_out_non_essential=True))  # fmt: skip
    got = svc.update_preference(db=db, actor=personas["patient_a"], patient_id=personas.patient_a,
                                data=svc.PreferenceUpdate(opt_out_non_essential=True))  # fmt: skip
    assert got.opt_out_non_essential
    assert svc.read_preference(db=db, actor=personas["frontdesk"], patient_id=personas.patient_a).opt_out_non_essential


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_moved_appointment_gets_a_notice_and_its_reminders_move_with_it(db, personas, world):
    t, smtp, settings, ids = world
    t["now"] = _utc(2026, 10, 31, 13)  # the 48 h reminder of Monday 09:00 is due now
    with UnitOfWork(db, personas["frontdesk"]) as uow:  # what booking.reschedule does after its checks
        a = uow.session.get(Appointment, ids["infusion"])
        before, a.starts_at = a.starts_at, _utc(2026, 11, 3, 15)  # Tuesday 10:00 EST
        uow.session.flush()
        svc.queue_change(uow, a, previous_starts_at=before)
    svc.send_due(db=db, settings=settings)
    (when, moved), = smtp.to("alice@example.org")  # the notice only: no reminder for the old time
    assert "has moved" in moved["Subject"] and when == t["now"]
    assert "Mon, Nov 2, 9:00" in moved.get_content() and "Tue, Nov 3, 10:00" in moved.get_content()
    t["now"] = _utc(2026, 11, 1, 15)  # 48 h before the new time, on the wall clock: Sunday 10:00 EST
    svc.send_due(db=db, settings=settings)
    assert [w for w, _ in smtp.to("alice@example.org")] == [_utc(2026, 10, 31, 13), _utc(2026, 11, 1, 15)]


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_questionnaire_reminders_share_the_log_and_the_opt_out(db, personas, world):
    t, smtp, settings, ids = world
    t["now"] = datetime.now(UTC)  # the baseline questionnaires of the two patients are due now
    svc.update_preference(db=db, actor=personas["frontdesk"], patient_id=personas.patient_b,
                          data=svc.PreferenceUpdate(opt_out_non_essential=True))  # fmt: skip
    report = send_reminders(db=db, settings=settings.model_copy(update={"link_key": "k" * 32}))
    assert report.sent == 2 and not smtp.to("bob@example.org")
    rows = [r for r in _log(db) if r.kind == "questionnaire"]
    assert len(rows) == 2 and {r.status for r in rows} == {"sent"} and {r.patient_id for r in rows} == {
        personas.patient_a
    }
    assert all(r.template_id == svc.QUESTIONNAIRE_TEMPLATE and r.template_version == 1 for r in rows)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # the thread, not the engine, is under test
def test_the_in_process_loop_sends_what_is_due(db, personas, world):
    import time

    t, smtp, settings, ids = world
    t["now"] = _utc(2026, 11, 2, 12)
    loop = svc.SenderLoop(db, settings, interval=0.05)
    loop.start()
    try:
        deadline = time.monotonic() + 10
        while len(smtp.to("alice@example.org")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        loop.stop()
    assert len(smtp.to("alice@example.org")) == 2  # the instructions and the 2 h reminder, once each
