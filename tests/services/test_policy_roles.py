"""Roles are data, once: policy.toml lists them; code asks the policy about actions, never compares role names."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from ketacare.demo.patients import STAFF
from ketacare.services.access import UserCreate, account_roles, is_patient_role, roles, roles_for
from ketacare.services.access.policy import grants, role_table

SRC = Path(__file__).resolve().parents[2] / "src" / "ketacare"
# Where a role's name may be written: the policy, the demo users (and the demo modules that act as them).
ALLOWED_FILES = {"services/access/data/policy.toml"}
ALLOWED_DIRS = ("demo/",)
# The same words in another vocabulary, not as a role.
OTHER_VOCABULARY = {
    ("services/sessions/vitals.py", "nurse"): "a reading's source: entered by a nurse rather than a gateway",
    ("api/access.py", "admin"): "an OpenAPI tag",
}


def test_every_role_has_a_description_and_a_home_and_every_grant_names_a_known_role():
    assert set(roles()) == set(role_table())
    assert all(r.description and r.home.startswith("/") for r in role_table().values())
    assert {g.role for g in grants()} <= set(role_table())


def test_the_demo_clinic_has_one_user_per_staff_role():
    staff = {r for r in account_roles() if not is_patient_role(r)}
    assert {role for _, _, role in STAFF} == staff


def test_an_account_takes_only_a_role_of_the_policy():
    for role in ("surgeon", "system"):
        with pytest.raises(ValidationError, match=f"unknown role '{role}'"):
            UserCreate(username="kim", display_name="Kim", role=role, password="a long enough phrase")
    for role in account_roles():
        pid = 1 if is_patient_role(role) else None
        assert UserCreate(username="kim", display_name="K", role=role, password="x", patient_id=pid).role == role


def test_actions_that_used_to_be_role_comparisons_come_from_the_policy():
    assert roles_for("sign", "infusion_session") == ("prescriber", "nurse")
    assert roles_for("override_guard", "infusion_session") == ("prescriber",)
    assert roles_for("primary_clinician", "patient") == ("prescriber", "nurse", "therapist")
    assert roles_for("read_blinded", "dose_order") == ("system",)


def _role_literals(names: set[str], root: Path = SRC) -> list[str]:
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel in ALLOWED_FILES or rel.startswith(ALLOWED_DIRS) or path.suffix not in {".py", ".html", ".toml"}:
            continue
        text = path.read_text("utf-8")
        if path.suffix == ".py":
            words = [
                n.value for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Constant) and n.value in names
            ]
        else:
            words = re.findall(r"[\"']([a-z]+)[\"']", text)
        found += [f"{rel}: {w!r}" for w in words if w in names and (rel, w) not in OTHER_VOCABULARY]
    return found


def test_no_role_name_is_written_outside_the_policy_and_the_demo_users():
    # "patient" and "system" are also a resource, an instrument's rater and the local operator's actor.
    names = set(role_table()) - {"patient", "system"}
    assert _role_literals(names) == []


def test_the_role_scan_finds_a_role_compared_in_code_or_a_template(tmp_path):
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "x.py").write_text('def f(actor):\n    return actor.role == "therapist"\n', "utf-8")
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "x.html").write_text('{% if actor.role in ("nurse",) %}x{% endif %}', "utf-8")
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "x.py").write_text('STAFF = [("nurse", "Sam", "nurse")]\n', "utf-8")
    assert _role_literals({"therapist", "nurse"}, tmp_path) == ["services/x.py: 'therapist'", "web/x.html: 'nurse'"]
