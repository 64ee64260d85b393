"""Synthetic demo clinic: seeded, reproducible patients with histories, created through the services."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ketacare.services.access import Actor, Profile, UserCreate, accounts, system_actor, users
from ketacare.services.patients import records as patients
from ketacare.services.patients.schemas import (
    AllergyCreate,
    DiagnosisCreate,
    MeasurementCreate,
    MedicationCreate,
    PatientCreate,
    TrialCreate,
)
from ketacare.store.db import Database

DEMO_PASSWORD = "ketacare-demo"  # noqa: S105 - demo logins exist only in a demo database
STAFF = [
    ("prescriber", "Dr Maya Okafor", "prescriber"),
    ("nurse", "Sam Lindqvist", "nurse"),
    ("therapist", "Dr Ines Duarte", "therapist"),
    ("frontdesk", "Alex Moreau", "frontdesk"),
    ("researcher", "Priya Raman", "researcher"),
    ("admin", "Jordan Blake", "admin"),
    ("admin2", "Robin Hale", "admin"),  # a second administrator, to approve what the first asks for
]
# Shown after the name on every signature ("Dr Maya Okafor, MD"), with a (synthetic) licence number.
CREDENTIALS = {"prescriber": "MD", "nurse": "RN", "therapist": "PhD"}
GIVEN_F = [
    "Amelia",
    "Olivia",
    "Sofia",
    "Hannah",
    "Leah",
    "Chloe",
    "Grace",
    "Zoe",
    "Nora",
    "Maya",
    "Ines",
    "Aisha",
    "Mei",
    "Lucia",
    "Freya",
    "Emma",
    "Clara",
    "Ava",
    "Ruth",
    "Elena",
    "Yara",
    "Naomi",
    "Ida",
    "Beatriz",
]
GIVEN_M = [
    "Liam",
    "Noah",
    "Oliver",
    "Elias",
    "Lucas",
    "Mateo",
    "Samuel",
    "Daniel",
    "Omar",
    "Kenji",
    "Arjun",
    "Felix",
    "Jonas",
    "Theo",
    "Hugo",
    "Marcus",
    "Isaac",
    "Tomas",
    "Leo",
    "Ravi",
    "Adam",
    "Jakob",
    "Kofi",
]
FAMILY = [
    "Smith",
    "Smythe",
    "Johnson",
    "Nguyen",
    "Garcia",
    "Muller",
    "Rossi",
    "Kowalski",
    "Okafor",
    "Haddad",
    "Larsen",
    "Dubois",
    "Silva",
    "Tanaka",
    "Kim",
    "Patel",
    "O'Brien",
    "Novak",
    "Fischer",
    "Moreno",
    "Ivanova",
    "Jensen",
    "Cohen",
    "Schmidt",
    "Brown",
    "Wilson",
    "Taylor",
    "Andersson",
    "Costa",
    "Mendes",
    "Yilmaz",
    "Horvath",
    "Walker",
    "Murphy",
    "Lopez",
    "Kaur",
    "Sato",
    "Bauer",
    "Lindqvist",
    "Moretti",
]
PRIMARY = [("gad", 0.35), ("sad", 0.2), ("ptsd", 0.22), ("panic", 0.13), ("ptsd_chronic", 0.1)]
COMORBID = [
    ("mdd_recurrent", 0.35),
    ("agoraphobia", 0.08),
    ("hypertension", 0.14),
    ("alcohol_use_disorder", 0.04),
    ("bipolar", 0.03),
    ("glaucoma", 0.02),
    ("sleep_apnoea", 0.05),
    ("schizophrenia", 0.01),
    ("hyperthyroidism", 0.02),
    ("cerebral_aneurysm", 0.01),
]
# (drug, usual daily doses in mg) for prior medication trials; adequacy is judged later by the eligibility rules.
DRUG_TRIALS = [
    ("sertraline", [50, 100, 150, 200]),
    ("escitalopram", [10, 15, 20]),
    ("paroxetine", [20, 30, 40]),
    ("venlafaxine", [75, 150, 225]),
    ("duloxetine", [60, 90, 120]),
    ("fluoxetine", [20, 40]),
    ("pregabalin", [150, 300, 450]),
    ("buspirone", [15, 30, 45]),
    ("citalopram", [20, 40]),
    ("mirtazapine", [15, 30, 45]),
]
THERAPIES = [
    ("CBT", (8, 20)),
    ("exposure therapy", (8, 16)),
    ("prolonged exposure", (8, 15)),
    ("cognitive processing therapy", (12, 12)),
    ("EMDR", (6, 12)),
    ("ACT", (8, 12)),
]
CURRENT_MEDS = [
    ("sertraline", 100, "mg", 1),
    ("escitalopram", 20, "mg", 1),
    ("venlafaxine", 75, "mg", 2),
    ("bupropion", 150, "mg", 1),
    ("lamotrigine", 100, "mg", 2),
    ("clonazepam", 0.5, "mg", 2),
    ("lorazepam", 1, "mg", 1),
    ("propranolol", 10, "mg", 2),
    ("amlodipine", 5, "mg", 1),
    ("lisinopril", 10, "mg", 1),
    ("levothyroxine", 75, "mcg", 1),
    ("methylphenidate", 10, "mg", 2),
    ("prazosin", 2, "mg", 1),
    ("trazodone", 50, "mg", 1),
]
ALLERGENS = [
    ("penicillin", "rash"),
    ("sulfonamides", "hives"),
    ("latex", "contact dermatitis"),
    ("ondansetron", "headache"),
    ("codeine", "nausea"),
]


@dataclass
class DemoContext:
    """What a demo extension gets: the database, the demo actor, a seeded RNG, today and who exists."""

    db: Database
    actor: Actor
    rng: random.Random
    today: date
    patient_ids: list[int]
    staff: dict[str, int]


def _extensions() -> list[Callable[[DemoContext], None]]:
    """Return `extend(context)` of every other module in ketacare.demo, ordered by its ORDER (then name).

    Each capability adds its own module (scores, screening, orders, live sessions) so the demo always
    shows the whole product without this file changing.
    """
    import importlib
    import pkgutil

    import ketacare.demo as pkg

    found = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name == "generator":
            continue
        module = importlib.import_module(f"ketacare.demo.{info.name}")
        if hasattr(module, "extend"):
            found.append((getattr(module, "ORDER", 100), info.name, module.extend))
    return [fn for _, _, fn in sorted(found)]


@dataclass
class DemoResult:
    patients: int
    staff: list[str]
    portal_logins: list[tuple[str, str]]


def _pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    r, acc = rng.random() * sum(w for _, w in weighted), 0.0
    for item, w in weighted:
        acc += w
        if r <= acc:
            return item
    return weighted[-1][0]


def _phone(rng: random.Random) -> str:
    return f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}"


def create_staff(db: Database, actor: Actor) -> dict[str, int]:
    """Create the demo staff accounts; return their ids by username."""
    ids = {}
    for username, name, role in STAFF:
        u = users.create_user(
            db=db,
            actor=actor,
            data=UserCreate(username=username, display_name=name, role=role, password=DEMO_PASSWORD),
        )
        if username in CREDENTIALS:
            profile = Profile(
                display_name=name, credentials=CREDENTIALS[username], licence_number=f"DEMO-{u.id:05d}"
            )
            accounts.update_profile(db=db, actor=actor, username=username, data=profile)
        ids[username] = u.id
    return ids


def seed(
    db: Database,
    *,
    n_patients: int = 200,
    seed_value: int = 20261126,
    today: date | None = None,
    portal_logins: int = 3,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Create staff, `n_patients` synthetic patients with histories, and a few patient-portal logins."""
    rng = random.Random(seed_value)  # noqa: S311 - synthetic demo data, reproducible on purpose
    today = today or date.today()
    actor = system_actor("demo")
    staff = create_staff(db, actor)
    created_ids: list[int] = []
    for i in range(n_patients - 1):
        pid = _one_patient(db, actor, rng, i, today, staff["prescriber"])
        created_ids.append(pid)
        if progress:
            progress(1)
    created_ids.append(_featured_patient(db, actor, today, staff["prescriber"]))
    if progress:
        progress(1)
    context = DemoContext(db=db, actor=actor, rng=rng, today=today, patient_ids=created_ids, staff=staff)
    for extension in _extensions():
        extension(context)
    logins = []
    for k, pid in enumerate(created_ids[:portal_logins], start=1):
        username = f"patient{k}"
        users.create_user(
            db=db,
            actor=actor,
            data=UserCreate(
                username=username,
                display_name=f"Portal user {k}",
                role="patient",
                password=DEMO_PASSWORD,
                patient_id=pid,
            ),
        )
        logins.append((username, DEMO_PASSWORD))
    return DemoResult(patients=len(created_ids), staff=[s[0] for s in STAFF], portal_logins=logins)


FEATURED_MRN = "K0200001"


def _featured_patient(db: Database, actor: Actor, today: date, clinician_id: int) -> int:
    """Create the patient the dosing issue names: a 96 kg, 165 cm woman with GAD and two failed trials."""
    p = patients.create_patient(
        db=db,
        actor=actor,
        data=PatientCreate(
            mrn=FEATURED_MRN,
            given_name="Helena",
            family_name="Marsh",
            date_of_birth=date(today.year - 46, 4, 12),
            sex_at_birth="female",
            phone="+1 555 010 2020",
            escort_name="Tom Marsh",
            escort_phone="+1 555 010 2021",
            emergency_contact_name="Tom Marsh",
            emergency_contact_phone="+1 555 010 2021",
            primary_clinician_id=clinician_id,
        ),
    )
    measured = datetime.combine(today - timedelta(days=3), time(9, 15), tzinfo=UTC)
    patients.add_measurement(
        db=db,
        actor=actor,
        patient_id=p.id,
        data=MeasurementCreate(weight="95.4 kg", height="165 cm", measured_at=measured - timedelta(days=40)),
    )
    patients.add_measurement(
        db=db, actor=actor, patient_id=p.id, data=MeasurementCreate(weight="96 kg", measured_at=measured)
    )
    patients.add_diagnosis(db=db, actor=actor, patient_id=p.id, data=DiagnosisCreate(code="gad"))
    for drug, dose, weeks, end_days in (("sertraline", 150.0, 12, 400), ("venlafaxine", 225.0, 10, 200)):
        end = today - timedelta(days=end_days)
        patients.add_trial(
            db=db,
            actor=actor,
            patient_id=p.id,
            data=TrialCreate(
                kind="medication",
                name=drug,
                dose_mg_per_day=dose,
                start_date=end - timedelta(weeks=weeks),
                end_date=end,
                adherence="good",
                outcome="no_response",
                reason_stopped="ineffective",
            ),
        )
    patients.add_trial(
        db=db,
        actor=actor,
        patient_id=p.id,
        data=TrialCreate(
            kind="psychotherapy",
            name="CBT",
            sessions=16,
            weeks=18.0,
            adherence="good",
            outcome="partial_response",
        ),
    )
    return p.id


def _one_patient(
    db: Database, actor: Actor, rng: random.Random, i: int, today: date, clinician_id: int
) -> int:
    sex = "female" if rng.random() < 0.6 else "male"
    given = rng.choice(GIVEN_F if sex == "female" else GIVEN_M)
    family = rng.choice(FAMILY)
    dob = today - timedelta(days=rng.randint(19 * 365, 72 * 365))
    height = rng.gauss(164 if sex == "female" else 178, 7)
    weight = max(45.0, rng.gauss(71 if sex == "female" else 86, 15))
    p = patients.create_patient(
        db=db,
        actor=actor,
        data=PatientCreate(
            mrn=f"K{100000 + i:07d}",
            confirm_not_duplicate=True,  # synthetic names may repeat on a shared birth date
            given_name=given,
            family_name=family,
            date_of_birth=dob,
            sex_at_birth=sex,
            phone=_phone(rng),
            email=f"{given.lower()}.{family.lower().replace(chr(39), '')}{i}@example.org",
            address=f"{rng.randint(1, 200)} Demo Street, Springfield",
            emergency_contact_name=f"{rng.choice(GIVEN_F + GIVEN_M)} {family}",
            emergency_contact_phone=_phone(rng),
            escort_name=f"{rng.choice(GIVEN_F + GIVEN_M)} {rng.choice(FAMILY)}"
            if rng.random() < 0.85
            else None,
            escort_phone=_phone(rng),
            primary_clinician_id=clinician_id,
        ),
    )
    pid = p.id
    # Weight series over the last 6-24 months, with a height at first visit.
    n_meas = rng.randint(3, 8)
    start = today - timedelta(days=rng.randint(180, 720))
    for k in range(n_meas):
        day = start + timedelta(days=int(k * (today - start).days / max(n_meas - 1, 1)))
        at = datetime.combine(min(day, today - timedelta(days=1)), time(9, rng.randint(0, 59)), tzinfo=UTC)
        weight += rng.gauss(0, 1.2)
        unit_lb = rng.random() < 0.2
        w_text = f"{weight / 0.45359237:.1f} lb" if unit_lb else f"{weight:.1f} kg"
        patients.add_measurement(
            db=db,
            actor=actor,
            patient_id=pid,
            data=MeasurementCreate(
                weight=w_text, height=f"{height:.1f} cm" if k == 0 else None, measured_at=at
            ),
        )
    primary = _pick(rng, PRIMARY)
    patients.add_diagnosis(
        db=db,
        actor=actor,
        patient_id=pid,
        data=DiagnosisCreate(
            code=primary,
            onset_date=dob + timedelta(days=rng.randint(15 * 365, max(16 * 365, (today - dob).days - 400))),
        ),
    )
    for concept, prob in COMORBID:
        if rng.random() < prob:
            patients.add_diagnosis(db=db, actor=actor, patient_id=pid, data=DiagnosisCreate(code=concept))
    # Prior trials: most patients have 2+ medication trials and one psychotherapy course.
    trial_end = today - timedelta(days=rng.randint(30, 120))
    for drug, doses in rng.sample(DRUG_TRIALS, rng.choice([1, 2, 2, 3, 3, 4])):
        weeks = rng.choice([4, 6, 8, 10, 12, 16, 24])
        t_start = trial_end - timedelta(weeks=weeks)
        patients.add_trial(
            db=db,
            actor=actor,
            patient_id=pid,
            data=TrialCreate(
                kind="medication",
                name=drug,
                dose_mg_per_day=float(rng.choice(doses)),
                start_date=t_start,
                end_date=trial_end,
                adherence=rng.choices(["good", "partial", "poor"], [0.75, 0.18, 0.07])[0],
                outcome=rng.choices(
                    ["no_response", "partial_response", "not_tolerated", "response"], [0.55, 0.3, 0.1, 0.05]
                )[0],
                reason_stopped=rng.choice(
                    ["ineffective", "side effects", "partial effect only", "ineffective"]
                ),
            ),
        )
        trial_end = t_start - timedelta(days=rng.randint(14, 90))
    if rng.random() < 0.85:
        name, (lo, hi) = rng.choice(THERAPIES)
        sessions = rng.randint(lo, hi + 4)
        patients.add_trial(
            db=db,
            actor=actor,
            patient_id=pid,
            data=TrialCreate(
                kind="psychotherapy",
                name=name,
                sessions=sessions,
                weeks=float(sessions + rng.randint(0, 6)),
                adherence=rng.choices(["good", "partial"], [0.8, 0.2])[0],
                outcome=rng.choices(["no_response", "partial_response"], [0.6, 0.4])[0],
            ),
        )
    for name, dose, unit, per_day in rng.sample(CURRENT_MEDS, rng.randint(0, 3)):
        patients.add_medication(
            db=db,
            actor=actor,
            patient_id=pid,
            data=MedicationCreate(
                name=name,
                dose_value=dose,
                dose_unit=unit,
                times_per_day=per_day,
                start_date=today - timedelta(days=rng.randint(30, 900)),
            ),
        )
    if rng.random() < 0.2:
        substance, reaction = rng.choice(ALLERGENS)
        patients.add_allergy(
            db=db,
            actor=actor,
            patient_id=pid,
            data=AllergyCreate(
                substance=substance, reaction=reaction, severity=rng.choice(["mild", "moderate"])
            ),
        )
    return pid
