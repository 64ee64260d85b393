"""De-identified research export (issue 18 point 5): no identifier or free text in any exported file, every
interval between a patient's events kept exactly, researchers only and audited."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import UTC, date, datetime

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select, update

from ketacare.config import Settings
from ketacare.demo.cohort import build
from ketacare.domain import research as deid
from ketacare.services import research
from ketacare.services.errors import Forbidden
from ketacare.services.research.keys import load_key
from ketacare.store.tables import AuditEvent, Diagnosis, Patient
from ketacare.store.tables.base import FREE_TEXT, IDENTIFIER
from ketacare.store.tables.measurement import QuestionnaireResponse
from ketacare.store.tables.sessions import InfusionSession, VitalSign
from tests.conftest import make_personas

KEY = "k" * 40


@pytest.fixture
def cohort(db, personas):
    build(db, n_patients=80, today=date(2026, 11, 30))
    with db.engine.begin() as c:  # free text and a very old patient the export must handle
        c.execute(update(Diagnosis).where(Diagnosis.id % 7 == 0).values(note="Lives with sister Marguerite"))
        c.execute(update(InfusionSession).where(InfusionSession.id % 50 == 0)
                  .values(abort_reason="Felt unwell after the call from Dr Zimmerman"))
        c.execute(update(Patient).where(Patient.id == personas.patient_b)
                  .values(date_of_birth=date(1930, 1, 2)))
    return personas


def _export(db, personas, tmp_path, fmt="csv", key="study-a", who="researcher"):
    settings = Settings(database_url=db.url, research_key=KEY)
    out = tmp_path / f"{fmt}-{key}"
    result = research.export_to_dir(db=db, actor=personas[who],
                                    request=research.ExportRequest(export_key=key, format=fmt), out=out,
                                    settings=settings)
    return result, out, settings


def _texts(out) -> dict[str, str]:
    """Every exported file as text (Parquet written back out as CSV by pyarrow)."""
    texts = {}
    for path in out.iterdir():
        if path.suffix == ".parquet":
            buf = io.BytesIO()
            pacsv.write_csv(pq.read_table(path), buf)
            texts[path.name] = buf.getvalue().decode("utf-8")
        else:
            texts[path.name] = path.read_text(encoding="utf-8")
    return texts


def _identifiers(db) -> tuple[set[str], dict[int, str]]:
    """Every identifier and free text stored in the source records; each patient's exact birth date."""
    found: set[str] = set()
    with db.engine.connect() as c:
        for table in (Patient, Diagnosis, InfusionSession):
            cols = [col for col in table.__table__.columns if col.info in (IDENTIFIER, FREE_TEXT)]
            for row in c.execute(select(*cols)):
                found |= {str(v) for v in row if v}
        born = {pid: d.isoformat() for pid, d in c.execute(select(Patient.id, Patient.date_of_birth))}
    return found, born


def test_no_identifier_birth_date_or_free_text_in_any_exported_file(db, cohort, tmp_path):
    for fmt in ("csv", "parquet"):
        _scan(db, cohort, tmp_path, fmt)


def _scan(db, cohort, tmp_path, fmt):
    result, out, _ = _export(db, cohort, tmp_path, fmt)
    assert {f.name for f in result.files} >= {f"patients.{fmt}", f"questionnaire_responses.{fmt}"}
    assert result.rows > 80 * 40
    identifiers, born = _identifiers(db)
    assert "Alice" in identifiers and "Lives with sister Marguerite" in identifiers and "C00000050" in identifiers
    texts = _texts(out)
    for name, text in texts.items():
        leaked = sorted(i for i in identifiers if i in text)
        assert not leaked, f"{name} holds {leaked[:5]}"
    # No patient's exact birth date anywhere among that patient's rows, nor in the patients file at all.
    key = load_key(Settings(database_url=db.url, research_key=KEY))
    dob = {deid.pseudonym(key, "study-a", "patient", pid): d for pid, d in born.items()}
    assert not [d for d in born.values() if d in texts[f"patients.{fmt}"]]
    for name, text in texts.items():
        for row in csv.DictReader(io.StringIO(text)):
            if "patient_key" in row:
                assert dob[row["patient_key"].strip('"')] not in row.values(), name


def test_every_interval_between_a_patients_events_is_kept_exactly(db, cohort, tmp_path):
    result, out, settings = _export(db, cohort, tmp_path)
    key = load_key(settings)
    original: dict[str, list[datetime]] = defaultdict(list)
    with db.engine.connect() as c:
        for pid, at in [*c.execute(select(InfusionSession.patient_id, InfusionSession.scheduled_at)),
                        *c.execute(select(QuestionnaireResponse.patient_id, QuestionnaireResponse.answered_at)),
                        *c.execute(select(VitalSign.patient_id, VitalSign.measured_at))]:
            original[deid.pseudonym(key, "study-a", "patient", pid)].append(at)
    exported: dict[str, list[datetime]] = defaultdict(list)
    for name, col in (("sessions", "scheduled_at"), ("questionnaire_responses", "answered_at"),
                      ("vital_signs", "measured_at")):
        with (out / f"{name}.csv").open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                at = datetime.fromisoformat(row[col].replace("Z", "+00:00"))
                exported[row["patient_key"]].append(at.astimezone(UTC))
    assert exported.keys() == original.keys() and len(exported) >= 80
    for pkey, times in original.items():
        a, b = sorted(times), sorted(exported[pkey])
        assert len(a) == len(b)
        shifts = {y - x for x, y in zip(a, b, strict=True)}
        assert len(shifts) == 1, pkey  # one shift per patient: every interval between its events is unchanged
        (shift,) = shifts
        assert shift.days != 0 and shift.seconds == 0 and shift.microseconds == 0
    _ages_cells_and_dictionary(result, out)


def _ages_cells_and_dictionary(result, out):
    with (out / "patients.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    bands = {r["age_band"] for r in rows}
    assert "90+" in bands and bands <= {"10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80-89", "90+"}
    with (out / "patient_counts.csv").open(encoding="utf-8") as f:
        counts = [r["patients"] for r in csv.DictReader(f)]
    assert "<5" in counts and all(c == "<5" or int(c) >= 5 or c == "0" for c in counts)
    risk = json.loads((out / "risk_summary.json").read_text())
    assert risk["k"] == result.risk.k >= 1 and risk["quasi_identifiers"] == research.export.QUASI_IDENTIFIERS
    assert risk["min_cell_source"] == "clinic-default"
    with (out / "data_dictionary.csv").open(encoding="utf-8") as f:
        dictionary = list(csv.DictReader(f))
    described = {(r["file"], r["column"]) for r in dictionary}
    for path in out.glob("*.csv"):
        if path.name in ("data_dictionary.csv",):
            continue
        header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
        assert {(path.name, h) for h in header} <= described
    assert all(r["meaning"] and r["type"] and r["source"] for r in dictionary)


def test_the_same_export_key_gives_the_same_ids_and_another_key_other_ones(sqlite_db, tmp_path):
    db, cohort = sqlite_db, make_personas(sqlite_db)
    _r, a, _ = _export(db, cohort, tmp_path, key="study-a")
    _r, b, _ = _export(db, cohort, tmp_path / "again", key="study-a")
    _r, c, _ = _export(db, cohort, tmp_path, key="study-b")
    first = (a / "patients.csv").read_text()
    assert first == (b / "patients.csv").read_text()
    assert first.splitlines()[1].split(",")[0] not in (c / "patients.csv").read_text()


def test_only_researchers_export_and_every_attempt_is_audited(sqlite_db, tmp_path):
    db, personas = sqlite_db, make_personas(sqlite_db)
    for name in ("admin", "prescriber", "nurse", "therapist", "frontdesk", "patient_a"):
        with pytest.raises(Forbidden):
            _export(db, personas, tmp_path / name, who=name)
    result, _out, _ = _export(db, personas, tmp_path)
    assert result.risk.patients == 2
    with db.session() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.resource_type == "research_export")
                           .order_by(AuditEvent.seq)).all()
    assert [(e.action, e.outcome) for e in events][-1] == ("export", "success")
    assert sum(e.outcome != "success" for e in events) == 6


@pytest.mark.parametrize("batch", [1, 50_000])
def test_codes_with_separators_or_line_breaks_and_empty_or_missing_codes_are_exported_exactly(
        sqlite_db, tmp_path, monkeypatch, batch):
    from ketacare.services.research import export as exporting

    monkeypatch.setattr(exporting, "BATCH", batch)  # 1: the odd row arrives after rows already written
    db, personas = sqlite_db, make_personas(sqlite_db)
    codes = ["F41.1", "", None, "\x1e", "F41.2", 'A,"b"\x1fc', "x\ny", "F41.0"]
    with db.session() as s:
        for code in codes:
            s.add(Diagnosis(patient_id=personas.patient_a, concept="gad", display="GAD", icd10cm="F41.1",
                            icd11=code, status="active", created_at=datetime(2026, 11, 30, tzinfo=UTC)))
    with db.session() as s:
        ids = s.scalars(select(Diagnosis.id).order_by(Diagnosis.id)).all()
    _r, out, settings = _export(db, personas, tmp_path, fmt="parquet")
    table = pq.read_table(out / "diagnoses.parquet").to_pydict()
    got = dict(zip(table["diagnosis_key"], table["icd11"], strict=True))
    key = load_key(settings)
    assert [got[deid.pseudonym(key, "study-a", "diagnosis", i)] for i in ids] == codes
