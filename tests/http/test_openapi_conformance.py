"""The API answers what /api/openapi.json says it answers (issue 10, point 2).

schemathesis generates requests from the document (valid ones and deliberately broken ones), sends them to the
app in-process as a prescriber and as a patient, and checks every answer: its status code is documented for
that operation, its content type is the documented one, and its body matches the documented schema (the
refusals included: 401/403/404/409/422/429 bodies are `ErrorBody`, `ValidationErrorBody`, `ConflictBody`).
Derandomized and bounded, so a red run always means the same thing and the run takes a few minutes at most.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ketacare.app import create_app
from ketacare.config import Settings
from ketacare.store.db import Database
from tests.conftest import PASSWORD, make_personas
from tests.consent_support import give_consent
from tests.http.conftest import issue_token

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
PERSONAS = ("prescriber", "nurse", "patient_a")
MAX_EXAMPLES = 6  # per operation and persona; the suite must stay inside CI's 20 minutes as operations grow

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261130,
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True},
        # Requests only through the documented methods: a method a path does not have gets 405 from the router,
        # which is the HTTP framework's answer, not one of our operations.
        "phases": {"coverage": {"unexpected-methods": []}, "stateful": {"enabled": False}},
    }
)
# The other personas: the same checks on fuzzed requests, without the coverage phase's boundary cases (those probe
# the validation, which is the same for everyone, and cost most of the time; the prescriber keeps them).
CONFIG_OTHER_PERSONAS = schemathesis.Config.from_dict(
    {
        "seed": 20261130,
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)


class Clinic:
    """The app on a seeded SQLite database, and a way to log in as any persona."""

    def __init__(self, tmp_dir, template) -> None:
        path = tmp_dir / "conformance.db"
        shutil.copy(template, path)
        self.db = Database(f"sqlite:///{path}")
        self.personas = make_personas(self.db)
        # No per-token rate limit here (it is tested on its own): it would answer 429 to this burst of ~800 calls.
        settings = Settings(database_url=self.db.url, login_max_failures=3, api_rate_per_minute=0)
        self.app = create_app(settings, db=self.db)
        self.tokens = {name: issue_token(self.db, self.personas[name].user_id) for name in PERSONAS}
        self.ids = _seed(self.personas)

    def token(self, persona: str, fresh: bool = False) -> str:
        return issue_token(self.db, self.personas[persona].user_id) if fresh else self.tokens[persona]

    def known_ids(self) -> dict[str, list[int]]:
        """Ids of records that exist, so that generated requests reach past "not found" too."""
        return self.ids


def _seed(personas) -> dict[str, list[int]]:
    """Records for generated requests to find: a medication, dose orders (draft, signed, double-checked), an
    eligibility evaluation and an urgent safety alert, all for patient A."""
    from ketacare.services.dosing import orders
    from ketacare.services.dosing.schemas import DoseOrderCreate, DoseOrderSign, DoubleCheckCreate
    from ketacare.services.eligibility import screening
    from ketacare.services.measurement import responses
    from ketacare.services.measurement.schemas import ResponseCreate
    from ketacare.services.patients import records
    from ketacare.services.patients.schemas import MedicationCreate

    db, pid, prescriber = personas.db, personas.patient_a, personas["prescriber"]
    med = records.add_medication(
        db=db,
        actor=personas["system"],
        patient_id=pid,
        data=MedicationCreate(name="sertraline", dose_value=50, dose_unit="mg", times_per_day=1),
    )
    order_ids = []
    for days, step in enumerate(("draft", "signed", "double_checked"), start=1):
        start = datetime.now(UTC) + timedelta(days=3 * days)
        o = orders.create_order(
            db=db,
            actor=prescriber,
            patient_id=pid,
            data=DoseOrderCreate(protocol_id="iv-standard", planned_start=start),
        )
        if step != "draft":
            o = orders.sign_order(
                db=db, actor=prescriber, patient_id=pid, order_id=o.id,
                data=DoseOrderSign(version=o.version, password=PASSWORD),
            )
        if step == "double_checked":
            check = DoubleCheckCreate(
                version=o.version, check_weight_kg=70, check_dose_mg=35, check_rate_ml_per_h=150, password=PASSWORD
            )
            orders.double_check_order(
                db=db, actor=personas["nurse"], patient_id=pid, order_id=o.id, data=check
            )
        order_ids.append(o.id)
    evaluation = screening.evaluate_patient(db=db, actor=prescriber, patient_id=pid).evaluation
    phq9 = ResponseCreate(instrument_id="phq9", answers=[1, 1, 1, 1, 1, 1, 1, 1, 3])
    responses.submit_response(db=db, actor=prescriber, patient_id=pid, data=phq9)
    alerts = responses.list_alerts(db=db, actor=prescriber, mine=False)
    return {
        "patient_id": [pid, personas.patient_b],
        "medication_id": [med.id],
        "order_id": order_ids,
        "evaluation_id": [evaluation.id],
        "alert_id": [a.id for a in alerts],
        **_seed_sessions(personas),
    }


def _seed_sessions(personas) -> dict[str, list[int]]:
    """Infusion sessions of patient A in a few states (scheduled; infusing with a pump event, an open high alert
    and an unresolved side effect; in recovery; discharged and signed) and a rescue formulary entry, so that the
    session routes are tried on records they can act on. Failed checks are overridden by the prescriber with a
    reason, as the clinic would record it."""
    from ketacare.services.sessions import formulary, pump, record, side_effects, vitals, workflow
    from ketacare.services.sessions.schemas import (
        InfusionEventCreate,
        OverrideIn,
        SessionChecks,
        SessionCreate,
        SideEffectCreate,
        SignRequest,
        TransitionRequest,
        VitalIn,
    )

    db, pid, prescriber = personas.db, personas.patient_a, personas["prescriber"]
    now = datetime.now(UTC)
    give_consent(personas)  # the pre-checks read the signed, countersigned consent (issue 16)

    def advance(sid: int, *events: str) -> None:
        for event in events:
            result = workflow.apply_event(
                db=db, actor=prescriber, session_id=sid, data=TransitionRequest(event=event)
            )
            if not result.allowed:
                why = OverrideIn(
                    guard_ids=[g.id for g in result.failed_guards], reason="conformance test seed"
                )
                request = TransitionRequest(event=event, override=why)
                result = workflow.apply_event(db=db, actor=prescriber, session_id=sid, data=request)
            assert result.allowed, (event, result.failed_guards)

    def session(chair: str, *events: str) -> int:
        sid = workflow.create_session(
            db=db, actor=prescriber, data=SessionCreate(patient_id=pid, chair=chair)
        ).id
        if events:
            advance(sid, "check_in")
            version = record.get_session(db=db, actor=prescriber, session_id=sid).version
            checks = SessionChecks(
                version=version,
                escort_confirmed=True,
                pregnancy_test_negative=True,
                last_food_at=now - timedelta(hours=8),
                last_liquid_at=now - timedelta(hours=3),
            )
            workflow.update_checks(db=db, actor=prescriber, session_id=sid, data=checks)
            baseline = VitalIn(sbp=124, dbp=78, hr=72, spo2=98, rr=14)
            vitals.record_session_reading(db=db, actor=prescriber, session_id=sid, data=baseline)
            advance(sid, *events)
        return sid

    # The infusing session is the clinic's first (id 1), the id that generated boundary cases try most.
    infusing = session("Chair 1", "pass_prechecks", "start_infusion")
    start = InfusionEventCreate(kind="start", rate_ml_per_h=52.5, concentration_mg_per_ml=1.0)
    pump.add_infusion_event(db=db, actor=prescriber, session_id=infusing, data=start)
    high = VitalIn(sbp=205, dbp=125, hr=96, spo2=97, rr=16)
    raised = vitals.record_session_reading(
        db=db, actor=prescriber, session_id=infusing, data=high
    ).alerts_raised
    effect = side_effects.add_side_effect(
        db=db, actor=prescriber, session_id=infusing, data=SideEffectCreate(type="nausea", grade=1)
    )
    scheduled = session("Chair 2")
    recovery = session("Chair 3", "pass_prechecks", "start_infusion", "end_infusion")
    signed = session("Chair 4", "pass_prechecks", "start_infusion", "end_infusion", "discharge")
    record.sign_session(db=db, actor=prescriber, session_id=signed, data=SignRequest(password=PASSWORD))
    entry = formulary.add_entry(
        db=db,
        actor=prescriber,
        data=formulary.FormularyEntryIn(
            drug="ondansetron",
            route="iv",
            indications=["nausea"],
            dose_min=4,
            dose_max=8,
            dose_unit="mg",
            max_doses_per_session=2,
            approved_by="Dr Test",
            source="test",
        ),
    )
    assert raised, "the seeded high blood pressure raised no alert"
    return {
        "session_id": [infusing, recovery, scheduled, signed],
        "session_alert_id": raised,
        "side_effect_id": [effect.id],
        "entry_id": [entry.id],
    }


@pytest.fixture(scope="module")
def clinic(tmp_path_factory, sqlite_template) -> Clinic:
    c = Clinic(tmp_path_factory.mktemp("conformance"), sqlite_template)
    yield c
    c.db.dispose()


@pytest.fixture(scope="module")
def api_schema(clinic):
    return schemathesis.openapi.from_asgi("/api/openapi.json", clinic.app, config=CONFIG)


@pytest.fixture(scope="module")
def api_schema_other_personas(clinic):
    return schemathesis.openapi.from_asgi("/api/openapi.json", clinic.app, config=CONFIG_OTHER_PERSONAS)


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    """schemathesis 4.32 names each operation's sub-test from `node._nodeid`, which pytest 9.2 no longer has."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api_schema")
schema_other_personas = schemathesis.pytest.from_fixture("api_schema_other_personas")


def _aim(case, clinic: Clinic) -> None:
    """Point two of every three generated ids of a known kind at a record that exists (deterministically)."""
    known = clinic.known_ids()
    for name, value in (case.path_parameters or {}).items():
        # An alert in a session path is a session alert, not a questionnaire safety alert.
        kind = (
            "session_alert_id" if name == "alert_id" and case.path.startswith("/api/v1/sessions/") else name
        )
        ids = known.get(kind)
        if ids and isinstance(value, int) and value % 3 != 2:
            case.path_parameters[name] = ids[value % len(ids)]


def _call(case, clinic: Clinic, persona: str) -> None:
    _aim(case, clinic)
    # Logging out revokes the token it was sent with: give that call a token of its own.
    fresh = case.path == "/api/v1/auth/logout"
    headers = {"Authorization": f"Bearer {clinic.token(persona, fresh)}"}
    case.call_and_validate(headers=headers, checks=CHECKS)


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_as_documented_to_a_prescriber(case, clinic):
    _call(case, clinic, "prescriber")


@schema_other_personas.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_as_documented_to_a_patient(case, clinic):
    _call(case, clinic, "patient_a")


@schema_other_personas.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_as_documented_to_a_nurse(case, clinic):
    _call(case, clinic, "nurse")
