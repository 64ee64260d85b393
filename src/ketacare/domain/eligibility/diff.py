"""Compare two stored eligibility evaluations: what changed in decision, findings, missing facts and stage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ketacare.domain.eligibility.model import Evaluation


@dataclass(frozen=True)
class EvaluationDiff:
    """What changed between an older and a newer evaluation of the same patient."""

    decision: tuple[str, str] | None
    findings_added: tuple[dict[str, Any], ...]
    findings_removed: tuple[dict[str, Any], ...]
    findings_changed: tuple[dict[str, Any], ...]  # {"old": finding, "new": finding}
    missing_added: tuple[dict[str, Any], ...]
    missing_removed: tuple[dict[str, Any], ...]
    stage: tuple[Any, Any] | None
    resistance_status: tuple[str, str] | None
    versions: dict[str, tuple[Any, Any]]
    facts_changed: tuple[str, ...]

    @property
    def changed(self) -> bool:
        """Return True if anything clinically visible changed."""
        return bool(
            self.decision
            or self.findings_added
            or self.findings_removed
            or self.findings_changed
            or self.missing_added
            or self.missing_removed
            or self.stage
            or self.resistance_status
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the diff as JSON-ready data."""
        return {
            "changed": self.changed,
            "decision": list(self.decision) if self.decision else None,
            "findings_added": list(self.findings_added),
            "findings_removed": list(self.findings_removed),
            "findings_changed": list(self.findings_changed),
            "missing_added": list(self.missing_added),
            "missing_removed": list(self.missing_removed),
            "stage": list(self.stage) if self.stage else None,
            "resistance_status": list(self.resistance_status) if self.resistance_status else None,
            "versions": {k: list(v) for k, v in self.versions.items()},
            "facts_changed": list(self.facts_changed),
        }


def _as_dict(e: Evaluation | dict[str, Any]) -> dict[str, Any]:
    return e.to_dict() if isinstance(e, Evaluation) else e


def _pair(old: Any, new: Any) -> tuple[Any, Any] | None:
    return None if old == new else (old, new)


def diff_evaluations(old: Evaluation | dict[str, Any], new: Evaluation | dict[str, Any]) -> EvaluationDiff:
    """Return what changed from `old` to `new` (Evaluation objects or their stored `to_dict()` form)."""
    a, b = _as_dict(old), _as_dict(new)
    fa = {(f["rule_id"], f["subject"]): f for f in a["findings"]}
    fb = {(f["rule_id"], f["subject"]): f for f in b["findings"]}
    ma = {m["key"]: m for m in a["missing"]}
    mb = {m["key"]: m for m in b["missing"]}
    changed = tuple(
        {"old": fa[k], "new": fb[k]}
        for k in fa.keys() & fb.keys()
        if (fa[k]["severity"], fa[k]["message"]) != (fb[k]["severity"], fb[k]["message"])
    )
    versions = {
        key: pair
        for key in ("rule_set", "catalogue_version", "tables_version")
        if (pair := _pair(a.get(key), b.get(key))) is not None
    }
    rs_a, rs_b = a["treatment_resistance"], b["treatment_resistance"]
    if (pair := _pair(rs_a.get("rule_set_version"), rs_b.get("rule_set_version"))) is not None:
        versions["rule_set_version"] = pair
    facts_a, facts_b = a.get("facts", {}), b.get("facts", {})
    facts_changed = tuple(
        sorted(k for k in facts_a.keys() | facts_b.keys() if facts_a.get(k) != facts_b.get(k))
    )
    return EvaluationDiff(
        decision=_pair(a["decision"], b["decision"]),
        findings_added=tuple(fb[k] for k in sorted(fb.keys() - fa.keys())),
        findings_removed=tuple(fa[k] for k in sorted(fa.keys() - fb.keys())),
        findings_changed=tuple(sorted(changed, key=lambda c: (c["new"]["rule_id"], c["new"]["subject"]))),
        missing_added=tuple(mb[k] for k in sorted(mb.keys() - ma.keys())),
        missing_removed=tuple(ma[k] for k in sorted(ma.keys() - mb.keys())),
        stage=_pair(rs_a["stage"], rs_b["stage"]),
        resistance_status=_pair(rs_a["status"], rs_b["status"]),
        versions=versions,
        facts_changed=facts_changed,
    )
