"""Integration visits due after infusions (the clinic's 24-72 h window) and goals tracked across visits."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ketacare.domain.errors import InvalidValue
from ketacare.services import therapy
from ketacare.services.errors import Forbidden
from tests.services.therapy.conftest import NO_RISK, NOW, add_infusion


def test_the_therapist_sees_which_visits_are_due_for_their_patients(clinic):
    personas, first, second = clinic
    db = personas.db
    due = therapy.integration_visits_due(db=db, actor=personas["therapist"])
    assert [(v.infusion.number, v.status) for v in due] == [(1, "overdue"), (2, "due")]
    assert due[1].due_by == NOW - timedelta(hours=30) + timedelta(hours=72)
    assert therapy.integration_visits_due(db=db, actor=personas["nurse"]) == []  # not on patient A's team
    # A note linked to the first infusion closes its visit; the second stays due.
    therapy.write_note(db=db, actor=personas["therapist"], patient_id=personas.patient_a, data=therapy.NoteCreate(
        session_id=first, visit_at=NOW - timedelta(days=4), modality="act", risk=NO_RISK))
    due = therapy.integration_visits_due(db=db, actor=personas["therapist"])
    assert [(v.infusion.session_id, v.status) for v in due] == [(second, "due")]
    # An infusion that ended an hour ago is upcoming; one older than the look-back is not listed.
    add_infusion(db, personas.patient_a, NOW - timedelta(hours=1))
    add_infusion(db, personas.patient_b, NOW - timedelta(days=40))
    statuses = [v.status for v in therapy.integration_visits_due(db=db, actor=personas["therapist"], mine=False)]
    assert statuses == ["due", "upcoming"]
    with pytest.raises(Forbidden):
        therapy.integration_visits_due(db=db, actor=personas["frontdesk"])


def test_goals_record_progress_with_each_visit_and_private_progress_stays_private(clinic):
    personas, *_ = clinic
    db = personas.db
    goal = therapy.add_goal(db=db, actor=personas["therapist"], patient_id=personas.patient_a,
                            data=therapy.GoalCreate(goal="Sleep six hours most nights"))
    assert goal.status == "active"
    therapy.write_note(db=db, actor=personas["therapist"], patient_id=personas.patient_a, data=therapy.NoteCreate(
        modality="cbt", risk=NO_RISK, sharing="private",
        goal_progress=[{"goal_id": goal.id, "status": "progressing", "progress": "5-6 h on three nights"}]))
    mine = therapy.therapy_view(db=db, actor=personas["therapist"], patient_id=personas.patient_a).goals
    assert mine[0].status_label == "Progressing"
    assert [(p.status, p.progress) for p in mine[0].progress] == [("progressing", "5-6 h on three nights")]
    theirs = therapy.therapy_view(db=db, actor=personas["prescriber"], patient_id=personas.patient_a).goals
    assert theirs[0].status == "progressing" and theirs[0].progress == []  # written in a private note
    with pytest.raises(InvalidValue) as e:
        therapy.write_note(db=db, actor=personas["therapist"], patient_id=personas.patient_a, data=therapy.NoteCreate(
            modality="cbt", risk=NO_RISK, goal_progress=[{"goal_id": goal.id, "status": "finished"}]))
    assert e.value.field == "goal_progress.0.status"
    with pytest.raises(Forbidden):
        therapy.add_goal(db=db, actor=personas["nurse"], patient_id=personas.patient_a,
                         data=therapy.GoalCreate(goal="Not the nurse's to set"))
