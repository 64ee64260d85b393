"""Every patient's digest as numpy columns (one row per patient, plus one row per list entry), so that a dashboard
request filters and counts with a few array operations instead of a Python pass over 100,000 digests.

Per-patient columns are in patient order; entry columns (sessions' outcomes, fixed points, week values, model rows,
blood-pressure rises, side-effect types) carry their patient's id and keep the patient's own order. Strings are
codes into one table (-1: none). The frame is also the stored form of the digests (`to_bytes`, `from_bytes`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

from ketacare.services.outcomes.digest import Digest

NONE = -1
_NO_TIME = np.iinfo(np.int64).min
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# per patient: name -> dtype (the smallest that holds the values: the frame is read whole by a new process)
PATIENT: dict[str, type[np.generic]] = {
    "pid": np.int32, "dx": np.int32, "dx_display": np.int32, "protocol": np.int32, "clinician": np.int32,
    "chair": np.int32, "day": np.int32, "screened": np.bool_, "eligible": np.bool_, "consented": np.bool_,
    "treated": np.bool_, "maintained": np.bool_, "last_aborted": np.bool_, "last_us": np.int64,
    "sessions": np.int32, "side_effects": np.int32, "grade3": np.int32, "judged": np.bool_, "responded": np.bool_,
    "remitted": np.bool_, "rapid": np.int8, "jdx": np.int32, "jlabel": np.int32, "band": np.int32,
    "band_label": np.int32, "followed": np.float64, "relapsed": np.bool_,
}  # fmt: skip
# list entries: group -> (name -> dtype); the first column is the owning patient's id
ENTRIES: dict[str, dict[str, type[np.generic]]] = {
    "after": {"after_pid": np.int32, "after_k": np.int16, "after_r": np.bool_, "after_m": np.bool_},
    "point": {"point_pid": np.int32, "point_fp": np.int32, "point_r": np.bool_, "point_m": np.bool_},
    "week": {"week_pid": np.int32, "week_w": np.int16, "week_v": np.float64},
    "model": {"model_pid": np.int32, "model_sess": np.int16, "model_pct": np.float64},
    "bp": {"bp_pid": np.int32, "bp_v": np.float64},
    "type": {"type_pid": np.int32, "type_code": np.int32, "type_n": np.int32},
}

CODES = ("dx", "dx_display", "protocol", "chair", "jdx", "jlabel", "band", "band_label", "point_fp", "type_code")


@dataclass
class Frame:
    """The digests of every patient as columns (see the module docstring)."""

    strings: list[str] = field(default_factory=list)
    cols: dict[str, np.ndarray] = field(default_factory=dict)
    _codes: dict[str, int] = field(default_factory=dict, repr=False)
    _at: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._codes = {s: i for i, s in enumerate(self.strings)}
        self._at = {}
        for name, dtype in [*PATIENT.items(), *(kv for g in ENTRIES.values() for kv in g.items())]:
            if name not in self.cols:
                self.cols[name] = np.empty(0, dtype=dtype)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.cols[name]

    def __len__(self) -> int:
        return len(self.cols["pid"])

    def owners(self, group: str) -> np.ndarray:
        """Return the row of each entry's patient in the per-patient columns (kept until the frame changes)."""
        at = self._at.get(group)
        if at is None:
            at = self._at[group] = np.searchsorted(self.cols["pid"], self.cols[f"{group}_pid"])
        return at

    def has(self, group: str) -> np.ndarray:
        """Return which patients have at least one entry of `group` (kept until the frame changes)."""
        key = f"has:{group}"
        out = self._at.get(key)
        if out is None:
            out = self._at[key] = np.bincount(self.owners(group), minlength=len(self)) > 0
        return out

    def code(self, s: str | None) -> int:
        """Return the code of a string (added to the table if new); NONE for None."""
        if s is None:
            return NONE
        c = self._codes.get(s)
        if c is None:
            c = self._codes[s] = len(self.strings)
            self.strings.append(s)
        return c

    def find(self, s: str) -> int | None:
        """Return the code of a string already in the table, None if no patient has it."""
        return self._codes.get(s)

    def text(self, c: int) -> str | None:
        """Return the string of a code (None for NONE)."""
        return None if c == NONE else self.strings[c]

    @classmethod
    def of(cls, digests: Iterable[Digest]) -> Frame:
        """Return the frame of digests (any order; the frame is in patient order)."""
        f = cls()
        f.cols.update(f._columns(sorted(digests, key=lambda p: p.patient_id)))
        return f

    def _columns(self, digests: Iterable[Digest]) -> dict[str, np.ndarray]:
        rows: dict[str, list[object]] = {n: [] for n in PATIENT}
        for g in ENTRIES.values():
            rows.update({n: [] for n in g})
        code = self.code
        for p in digests:
            pid = p.patient_id
            j = p.judged
            for name, v in (
                ("pid", pid), ("dx", code(p.diagnosis)), ("dx_display", code(p.diagnosis_display)),
                ("protocol", code(p.protocol)), ("clinician", NONE if p.clinician_id is None else p.clinician_id),
                ("chair", code(p.first_chair)), ("day", NONE if p.first_day is None else p.first_day.toordinal()),
                ("screened", p.screened), ("eligible", p.eligible), ("consented", p.consented),
                ("treated", p.treated), ("maintained", p.maintained), ("last_aborted", p.last_aborted),
                ("last_us", _NO_TIME if p.last_started_at is None else instant(p.last_started_at)),
                ("sessions", p.sessions), ("side_effects", p.side_effects), ("grade3", p.grade3),
                ("judged", j is not None), ("responded", j is not None and j.responded),
                ("remitted", j is not None and j.remitted),
                ("rapid", NONE if j is None or j.rapid is None else int(j.rapid)),
                ("jdx", NONE if j is None else code(j.diagnosis)),
                ("jlabel", NONE if j is None else code(j.diagnosis_label)),
                ("band", NONE if j is None else code(j.dose_band)),
                ("band_label", NONE if j is None else code(j.dose_label)),
                ("followed", np.nan if j is None or j.followed_days is None else j.followed_days),
                ("relapsed", j is not None and j.relapsed),
            ):  # fmt: skip
                rows[name].append(v)
            for v in p.bp_rises:
                rows["bp_pid"].append(pid)
                rows["bp_v"].append(v)
            for t, n in p.types.items():
                rows["type_pid"].append(pid)
                rows["type_code"].append(code(t))
                rows["type_n"].append(n)
            if j is None:
                continue
            for k, r, m in j.after_session:
                rows["after_pid"].append(pid)
                rows["after_k"].append(k)
                rows["after_r"].append(r)
                rows["after_m"].append(m)
            for fp, r, m in j.at_points:
                rows["point_pid"].append(pid)
                rows["point_fp"].append(code(fp))
                rows["point_r"].append(r)
                rows["point_m"].append(m)
            for w, v in j.by_week.items():
                rows["week_pid"].append(pid)
                rows["week_w"].append(w)
                rows["week_v"].append(v)
            for k, v in zip(j.model_sessions, j.model_pct, strict=True):
                rows["model_pid"].append(pid)
                rows["model_sess"].append(k)
                rows["model_pct"].append(v)
        types = {**PATIENT, **{n: t for g in ENTRIES.values() for n, t in g.items()}}
        return {n: np.asarray(v, dtype=types[n]) for n, v in rows.items()}

    @classmethod
    def joined(cls, parts: list[Frame]) -> Frame:
        """Return one frame of frames holding consecutive ranges of patients (given in patient order)."""
        out = cls()
        pieces: dict[str, list[np.ndarray]] = {n: [] for n in out.cols}
        for part in parts:
            recode = np.asarray([out.code(x) for x in part.strings] + [NONE], dtype=np.int32)  # NONE stays NONE
            for n in pieces:
                pieces[n].append(recode[part.cols[n]] if n in CODES else part.cols[n])
        out.cols = {n: np.concatenate(v).astype(out.cols[n].dtype, copy=False) for n, v in pieces.items()}
        return out

    def replaced(self, changed: Iterable[int], fresh: Iterable[Digest]) -> Frame:
        """Return a new frame without the rows of the `changed` patients and with their fresh digests (of those still
        there); this frame is left as it is, for a request still counting on it."""
        gone = np.asarray(sorted(set(changed)), dtype=np.int32)
        new = self._columns(sorted(fresh, key=lambda p: p.patient_id))
        cols: dict[str, np.ndarray] = {}
        for key, names in (("pid", list(PATIENT)), *((next(iter(g)), list(g)) for g in ENTRIES.values())):
            keep = ~np.isin(self.cols[key], gone)
            kept = {n: self.cols[n][keep] for n in names}
            at = np.searchsorted(kept[key], new[key], side="left")  # entries stay sorted by patient
            for n in names:
                cols[n] = np.insert(kept[n], at, new[n])
        return Frame(strings=self.strings, cols=cols)  # the string table only grows: codes stay valid

    def to_bytes(self) -> bytes:
        """Return the frame as one uncompressed .npz (strings as one JSON array)."""
        buf = io.BytesIO()
        np.savez(buf, __strings__=np.asarray([json.dumps(self.strings)]), **self.cols)  # type: ignore[arg-type]
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, body: bytes) -> Frame:
        """Return the frame written by `to_bytes`."""
        with np.load(io.BytesIO(body), allow_pickle=False) as z:
            cols = {n: z[n] for n in z.files if n != "__strings__"}
            strings = json.loads(str(z["__strings__"][0]))
        return cls(strings=strings, cols=cols)


def day(d: date) -> int:
    """Return the column value of a clinic-local day."""
    return d.toordinal()


def instant(t: datetime) -> int:
    """Return the column value of an instant (microseconds since 1970)."""
    return (t - _EPOCH) // timedelta(microseconds=1)
