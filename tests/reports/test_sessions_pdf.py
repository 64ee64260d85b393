"""The printed session record (issue 12 point 8), read back with pypdf as a reader would: clinic header, patient,
order with prescriber and checker, dose, pump events, vitals, alarms with acknowledgements, side effects and
rescue, assessments, discharge checklist, escort, instructions, page numbers and the record hash, in the clinic's
time zone with no raw floats or internal tags; an amended record and a long worst-case record print too."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from pypdf import PdfReader

from ketacare.reports.sessions import render_pdf
from ketacare.services.clinic import ClinicIdentity
from ketacare.services.sessions import alerts as session_alerts
from ketacare.services.sessions import pump, record, side_effects, vitals, workflow
from ketacare.services.sessions.schemas import (
    AddendumCreate,
    AlertAck,
    GatewayReading,
    InfusionEventCreate,
    SessionCreate,
    SideEffectCreate,
    SignRequest,
)
from tests.conftest import PASSWORD
from tests.services.test_session_record import checked_order, complete_session
from tests.services.test_sessions import _ev, _start, capabilities, fake_clock, with_scores  # noqa: F401

BERLIN = ZoneInfo("Europe/Berlin")
CLINIC = ClinicIdentity(
    name="Lakeside Ketamine Clinic", address="12 Harbour Road; Springfield", phone="+1 555 010 9999"
)


def _pages(pdf: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]


def _print(personas, sid) -> tuple[bytes, list[str]]:
    data = record.record_for_pdf(db=personas.db, actor=personas["nurse"], session_id=sid)
    pdf = render_pdf(data, CLINIC, BERLIN)
    return pdf, _pages(pdf)


def _sign_both(personas, sid) -> str:
    record.sign_session(db=personas.db, actor=personas["nurse"], session_id=sid, data=SignRequest(password=PASSWORD))
    return record.sign_session(
        db=personas.db, actor=personas["prescriber"], session_id=sid, data=SignRequest(password=PASSWORD)
    ).sha256


def _assert_for_people(pages: list[str]) -> None:
    """Every page numbered "Page n of N"; no raw floats, internal tags or doubled chair word anywhere."""
    n = len(pages)
    for k, page in enumerate(pages, 1):
        assert f"Page {k} of {n}" in page
        assert "Lakeside Ketamine Clinic" in page and "Anders, Alice" in page  # running head on each page
    text = "\n".join(pages)
    assert not re.search(r"\d\.\d{4,}", text), re.search(r".{20}\d\.\d{4,}.{20}", text)
    assert not re.search(r"\[[a-z][a-z0-9-]*\d{4}[a-z]?\]|\[S\d+", text)  # bibliography keys or note tags
    assert "Chair Chair" not in text and "resolved -" not in text


def test_the_signed_record_prints_every_part_a_clinician_checks(personas, fake_clock, with_scores):  # noqa: F811
    sid = complete_session(personas, fake_clock, with_scores)
    digest = _sign_both(personas, sid)
    detail = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    pdf, pages = _print(personas, sid)
    text = "\n".join(pages)
    flat = " ".join(text.split())
    _assert_for_people(pages)
    assert "12 Harbour Road; Springfield" in text and "+1 555 010 9999" in text
    assert "Date of birth: 1985-03-04" in text and f"MRN: {detail.patient.mrn}" in text
    assert f"Order #{detail.dose_order_id}: 35.0 mg" in flat
    assert "Prescribed and signed by Prescriber" in flat and "double check by Nurse" in flat
    assert "Ordered 35.0 mg; delivered 35.0 mg" in flat
    assert "Pump events" in text and "52.5" in text and "stop" in text
    start = detail.infusion_started_at.astimezone(BERLIN)
    assert start.strftime("%H:%M:%S") in text and "CET" in text  # the clinic's zone, named
    assert "Systolic BP (mmHg)" in text and "SBP alarm >= 180" in text  # chart legend and alarm limit line
    assert "186/104 *" in flat and "high-priority alarm limit of the clinic's rules (SBP >= 180" in flat
    assert "Blood pressure at or above 180/110" in flat or "BP 186/104" in flat
    assert "Nurse at" in flat and "paused the pump, rechecked 178/100, prescriber called" in flat
    assert "nausea" in text and "2 (moderate)" in flat and "not resolved" in flat
    assert "ondansetron" in text and "4 mg" in flat
    for name in ("CADSS-6", "MOAA/S", "Modified Aldrete", "C-SSRS"):
        assert name in flat
    assert "Discharged by Nurse (nurse)" in flat and "Responsible adult escort present" in flat
    assert "Escort home: Carl Anders, +1 555 010 2020" in flat
    assert "Written discharge instructions given: yes by Nurse" in flat
    assert "Do not drive, cycle or operate machinery" in flat
    assert "Authored: signed by Nurse (nurse)" in flat and "Approved: signed by Prescriber (prescriber)" in flat
    assert "Discharge instructions version 0 acknowledged by:" in flat
    assert "patient: Ada Patient" in flat and "escort: Sam Escort" in flat
    assert f"Record SHA-256 (canonical record, format 3): {digest}" in flat
    assert "Verified: the record matches its signatures." in flat


def test_an_amended_record_still_prints_with_its_addendum(personas, fake_clock, with_scores):  # noqa: F811
    sid = complete_session(personas, fake_clock, with_scores)
    digest = _sign_both(personas, sid)
    add = record.add_addendum(
        db=personas.db, actor=personas["prescriber"], session_id=sid,
        data=AddendumCreate(text="Phoned the next day: well, nausea gone by the evening."),
    )  # fmt: skip
    _, pages = _print(personas, sid)
    flat = " ".join("\n".join(pages).split())
    _assert_for_people(pages)
    assert "Addendum by Prescriber (prescriber)" in flat
    assert "Phoned the next day: well, nausea gone by the evening." in flat
    assert add.sha256 in flat and f"follows {digest[:16]}" in flat
    assert "Verified: the record matches its signatures." in flat


def test_an_unsigned_record_prints_the_hash_it_would_be_signed_with(personas, fake_clock, with_scores):  # noqa: F811
    sid = complete_session(personas, fake_clock, with_scores)
    _, pages = _print(personas, sid)
    flat = " ".join("\n".join(pages).split())
    current = record.get_session(
        db=personas.db, actor=personas["nurse"], session_id=sid
    ).verification.current_sha256
    assert "Not signed." in flat and current in flat


EXCURSIONS = (
    dict(sbp=186, dbp=104, hr=88, spo2=97, rr=14),
    dict(sbp=130, dbp=82, hr=76, spo2=88, rr=14),
    dict(sbp=128, dbp=80, hr=74, spo2=96, rr=7),
    dict(sbp=132, dbp=84, hr=160, spo2=97, rr=16),
)


def long_session(personas, fake_clock, capabilities) -> int:  # noqa: F811
    """A worst-case day: 4 h infusing with a reading every minute, an excursion every 15 min (16 alarms, each
    acknowledged with a long note), a rate change every 20 min, pauses, boluses and several side effects."""
    db, nurse = personas.db, personas["nurse"]
    order_id = checked_order(personas, fake_clock, capabilities)
    sid = workflow.create_session(
        db=db, actor=nurse,
        data=SessionCreate(patient_id=personas.patient_a, chair="4", dose_order_id=order_id,
                           planned_dose_mg=35, planned_duration_min=240, concentration_mg_per_ml=1.0),
    ).id  # fmt: skip
    _start(personas, sid, fake_clock)
    t0 = fake_clock.t

    def event(minute, kind, **kw):
        pump.add_infusion_event(
            db=db, actor=nurse, session_id=sid,
            data=InfusionEventCreate(kind=kind, at=t0 + timedelta(minutes=minute), **kw),
        )  # fmt: skip

    event(0, "start", rate_ml_per_h=8.75)
    for cycle in range(16):
        base = cycle * 15
        readings = []
        for m in range(base, base + 15):
            vals = (
                EXCURSIONS[cycle % 4]
                if base + 5 <= m < base + 8
                else dict(sbp=128, dbp=80, hr=74, spo2=97, rr=14)
            )
            readings.append(
                GatewayReading(client_id=f"long-{m}", measured_at=t0 + timedelta(minutes=m), **vals)
            )
        fake_clock.t = t0 + timedelta(minutes=base + 15)
        vitals.record_batch(db=db, actor=nurse, session_id=sid, readings=readings)
        for a in record.get_session(db=db, actor=nurse, session_id=sid).alerts:
            if a.needs_acknowledgement:
                session_alerts.acknowledge_alert(
                    db=db, actor=nurse, session_id=sid, alert_id=a.id,
                    data=AlertAck(action_taken=f"cycle {cycle}: rechecked at the bedside, patient talking, "
                                  "pump paused for two minutes and restarted, prescriber informed by phone"),
                )  # fmt: skip
        if cycle % 4 == 1:
            event(base + 9, "rate_change", rate_ml_per_h=7.5 + cycle / 4)
        if cycle == 6:
            event(base + 10, "pause")
            event(base + 12, "resume")
        if cycle in (3, 11):
            event(base + 13, "bolus", bolus_mg=2.5)
        if cycle % 3 == 0:
            side_effects.add_side_effect(
                db=db, actor=nurse, session_id=sid,
                data=SideEffectCreate(type="dizziness" if cycle % 2 else "nausea", grade=1,
                                      onset_at=t0 + timedelta(minutes=base + 6),
                                      resolved_at=t0 + timedelta(minutes=base + 14) if cycle < 12 else None,
                                      description="reported by the patient"),
            )  # fmt: skip
    event(240, "stop")
    assert _ev(personas, sid, "end_infusion").state == "recovery"
    return sid


def test_a_long_record_prints_every_reading_alarm_and_event_on_numbered_pages(
    personas,
    fake_clock,  # noqa: F811
    with_scores,  # noqa: F811
    tmp_path,  # noqa: F811
):
    sid = long_session(personas, fake_clock, with_scores)
    fake_clock.advance(1)
    assert _ev(personas, sid, "abort", reason="worst-case test ends here").state == "aborted"
    _sign_both(personas, sid)
    detail = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    assert len(detail.vitals) == 241 and len(detail.alerts) >= 16 and len(detail.infusion_events) >= 10
    pdf, pages = _print(personas, sid)
    (tmp_path / "long-record.pdf").write_bytes(pdf)
    _assert_for_people(pages)
    assert len(pages) >= 6
    text = "\n".join(pages)
    flat = " ".join(text.split())
    for v in detail.vitals:
        assert v.measured_at.astimezone(BERLIN).strftime("%H:%M:%S") in text
    for cycle in range(16):
        assert f"cycle {cycle}: rechecked at the bedside" in flat
    assert "Chair 4" in text and "Not discharged: aborted by Nurse (nurse)" in flat
    assert flat.count("bolus") >= 2 and "rate change" in flat
