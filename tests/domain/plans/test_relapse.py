"""Relapse after response, as data: a response that holds, weakens or is lost over the later scores, and the
action proposed for each (booster, review during the course, re-induction after it), each rule with its source."""

from __future__ import annotations

from ketacare.domain.plans import check_relapse, relapse_rules
from ketacare.domain.sources import known


def test_every_threshold_is_labelled_unverified_or_sourced():
    r = relapse_rules()
    assert r["status"] == "UNVERIFIED"
    for key in ("response", "weakening", "relapse"):
        for k in r[key]["source"].split(", "):
            assert k == "clinic-default" or known(k)


def test_no_baseline_or_no_score_is_unknown_and_not_flagged():
    assert check_relapse(None, [5.0], 3).state == "unknown"
    assert not check_relapse(18.0, [], 3).flagged


def test_never_responded_is_not_a_relapse():
    c = check_relapse(18.0, [16.0, 15.0, 17.0], 3)
    assert (c.state, c.action, c.flagged) == ("not-yet-responded", "none", False)


def test_a_response_that_holds_is_not_flagged():
    c = check_relapse(18.0, [12.0, 8.0, 7.0, 8.0], 7)
    assert c.state == "holding" and not c.flagged
    assert [r.id for r in c.rules] == ["relapse.responded"]


def test_a_weakening_response_proposes_a_booster():
    c = check_relapse(18.0, [12.0, 8.0, 11.0], 10)  # 39 % below baseline: below response, above 25 %
    assert c.state == "weakening" and c.action == "booster" and c.flagged
    assert c.rules[-1].id == "relapse.weakening"


def test_a_lost_response_during_the_course_proposes_a_review():
    c = check_relapse(18.0, [8.0, 7.0, 15.0, 16.0], 14)
    assert c.state == "relapse" and c.action == "review"
    assert [r.id for r in c.rules] == ["relapse.responded", "relapse.lost_response", "relapse.in_course"]
    assert all(r.source for r in c.rules)


def test_a_lost_response_after_the_course_proposes_re_induction():
    c = check_relapse(17.0, [8.0, 6.0, 14.0, 15.0], 55)
    assert c.state == "relapse" and c.action == "re-induction"
    assert "murrough2013" in c.rules[-1].source


def test_one_bad_score_is_not_yet_a_relapse():
    assert check_relapse(18.0, [8.0, 7.0, 16.0], 5).state == "weakening"


def test_same_scores_give_the_same_check():
    assert check_relapse(18.0, [8.0, 15.0, 16.0], 40) == check_relapse(18.0, [8.0, 15.0, 16.0], 40)
