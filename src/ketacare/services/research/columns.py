"""What each exported file holds: every column's meaning, unit, type and source (the data dictionary)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One exported column."""

    name: str
    meaning: str
    unit: str
    type: str  # string | integer | float | boolean | timestamp | date
    source: str  # table.column it comes from, or how it is derived


@dataclass(frozen=True)
class ExportFile:
    """One exported table."""

    name: str
    meaning: str
    columns: tuple[Column, ...]


SHIFTED = "shifted by the patient's secret whole-day offset"
PATIENT_KEY = Column("patient_key", "Keyed-hash id of the patient (HMAC-SHA256; stable within one export key)", "",
                     "string", "patients.id (keyed hash)")
SESSION_KEY = Column("session_key", "Keyed-hash id of the infusion session", "", "string",
                     "infusion_sessions.id (keyed hash)")

PATIENTS = ExportFile("patients", "One row per patient: the quasi-identifiers only", (
    PATIENT_KEY,
    Column("sex_at_birth", "Sex recorded at birth", "", "string", "patients.sex_at_birth"),
    Column("age_band", "Age at the first recorded event in 10-year bands; every age over 89 is '90+'", "years",
           "string", "patients.date_of_birth (age at first event, grouped)"),
    Column("diagnosis", "Concept of the first active anxiety diagnosis ('' when none)", "", "string",
           "diagnoses.concept"),
    Column("site", "Keyed-hash id of the clinic site", "", "string", "clinic (keyed hash)"),
    Column("first_event_year", "Year of the first recorded event after the date shift", "", "integer",
           f"min(infusion_sessions.scheduled_at, questionnaire_responses.answered_at), {SHIFTED}"),
))

DIAGNOSES = ExportFile("diagnoses", "Coded diagnoses (notes dropped)", (
    Column("diagnosis_key", "Keyed-hash id of the diagnosis", "", "string", "diagnoses.id (keyed hash)"),
    PATIENT_KEY,
    Column("concept", "Ketacare concept id of the diagnosis", "", "string", "diagnoses.concept"),
    Column("icd10cm", "ICD-10-CM code", "", "string", "diagnoses.icd10cm"),
    Column("icd11", "ICD-11 code", "", "string", "diagnoses.icd11"),
    Column("status", "active or resolved", "", "string", "diagnoses.status"),
    Column("onset_date", f"Onset date, {SHIFTED}", "", "date", "diagnoses.onset_date"),
))

SESSIONS = ExportFile("sessions", "Infusion sessions (chair, lot number, reasons and checklists dropped)", (
    SESSION_KEY,
    PATIENT_KEY,
    Column("product", "racemic_ketamine or esketamine", "", "string", "infusion_sessions.product"),
    Column("state", "Last state of the session", "", "string", "infusion_sessions.state"),
    Column("scheduled_at", f"Booked start (UTC), {SHIFTED}", "", "timestamp", "infusion_sessions.scheduled_at"),
    Column("infusion_started_at", f"Infusion start (UTC), {SHIFTED}", "", "timestamp",
           "infusion_sessions.infusion_started_at"),
    Column("infusion_ended_at", f"Infusion end (UTC), {SHIFTED}", "", "timestamp",
           "infusion_sessions.infusion_ended_at"),
    Column("discharged_at", f"Discharge (UTC), {SHIFTED}", "", "timestamp", "infusion_sessions.discharged_at"),
    Column("aborted_at", f"Abort (UTC), {SHIFTED}", "", "timestamp", "infusion_sessions.aborted_at"),
    Column("planned_dose_mg", "Planned dose", "mg", "float", "infusion_sessions.planned_dose_mg"),
    Column("planned_duration_min", "Planned infusion duration", "min", "float",
           "infusion_sessions.planned_duration_min"),
    Column("weight_kg", "Weight the dose was based on", "kg", "float", "infusion_sessions.weight_kg"),
    Column("dissociation_occurred", "Dissociation during the session", "", "boolean",
           "infusion_sessions.dissociation_occurred"),
    Column("sedation_occurred", "Sedation during the session", "", "boolean", "infusion_sessions.sedation_occurred"),
    Column("respiratory_depression_occurred", "Respiratory depression during the session", "", "boolean",
           "infusion_sessions.respiratory_depression_occurred"),
))

RESPONSES = ExportFile("questionnaire_responses", "Questionnaire totals (item answers and flags not exported)", (
    Column("response_key", "Keyed-hash id of the response", "", "string", "questionnaire_responses.id (keyed hash)"),
    PATIENT_KEY,
    Column("session_key", "Keyed-hash id of the session it belongs to ('' when none)", "", "string",
           "questionnaire_responses.session_id (keyed hash)"),
    Column("instrument_id", "Instrument (gad7, phq9, ...)", "", "string", "questionnaire_responses.instrument_id"),
    Column("instrument_version", "Instrument version", "", "string", "questionnaire_responses.instrument_version"),
    Column("context", "When it was asked (screening, baseline, pre/post session, follow-up)", "", "string",
           "questionnaire_responses.context"),
    Column("answered_at", f"Answered (UTC), {SHIFTED}", "", "timestamp", "questionnaire_responses.answered_at"),
    Column("total", "Total score", "points", "float", "questionnaire_responses.total"),
    Column("severity", "Severity band of the total", "", "string", "questionnaire_responses.severity"),
))

VITALS = ExportFile("vital_signs", "Vital signs (device and client ids dropped)", (
    PATIENT_KEY,
    SESSION_KEY,
    Column("measured_at", f"Measured (UTC), {SHIFTED}", "", "timestamp", "vital_signs.measured_at"),
    Column("context", "screening, baseline, during, recovery or other", "", "string", "vital_signs.context"),
    Column("sbp_mmhg", "Systolic blood pressure", "mmHg", "float", "vital_signs.sbp_mmhg"),
    Column("dbp_mmhg", "Diastolic blood pressure", "mmHg", "float", "vital_signs.dbp_mmhg"),
    Column("hr_per_min", "Heart rate", "1/min", "float", "vital_signs.hr_per_min"),
    Column("spo2_pct", "Oxygen saturation", "%", "float", "vital_signs.spo2_pct"),
    Column("rr_per_min", "Respiratory rate", "1/min", "float", "vital_signs.rr_per_min"),
    Column("temp_c", "Temperature", "degC", "float", "vital_signs.temp_c"),
))

AGGREGATE = ExportFile("patient_counts", "Patients by diagnosis, age band and sex; cells below k shown as '<k'", (
    Column("diagnosis", "Concept of the first active diagnosis", "", "string", "diagnoses.concept"),
    Column("age_band", "Age band at the first event", "years", "string", "patients.date_of_birth (grouped)"),
    Column("sex_at_birth", "Sex recorded at birth", "", "string", "patients.sex_at_birth"),
    Column("patients", "Number of patients, or '<k' when fewer than k (small cell suppressed)", "patients",
           "string", "count of patients"),
))

FILES = (PATIENTS, DIAGNOSES, SESSIONS, RESPONSES, VITALS, AGGREGATE)
