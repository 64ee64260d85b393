"""Load and check the instrument definitions shipped as TOML files in `instruments/data/`.

Each file holds one instrument: items and their allowed answers, the total rule, subscales, severity bands,
flags, derived levels (e.g. the C-SSRS risk level) and outcome definitions, each with its source from the
bibliography (`domain/bibliography.toml`). A definition that breaks a rule below is refused at load time, so a
typing slip in a data file (an overlapping band, an unknown item in a flag, a LOINC code with a wrong check
digit) fails the test suite instead of mis-scoring a patient.

Conditions (flags, derived levels, skip logic, outcomes) are small TOML tables:
`{ on = "<item id>" | "total", op = ">" | ">=" | "<" | "<=" | "==", value = N }`,
`{ any_of = [...] }`, `{ all_of = [...] }` and
`{ count_of = [item ids], op = ..., value = N, at_least = K }` (at least K of the items satisfy op value).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from importlib import resources
from typing import Any, Literal

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue

DATA_PACKAGE = "ketacare.domain.measurement.data"
SCHEMA_VERSION = 1

Op = Literal[">", ">=", "<", "<=", "=="]
OPS: frozenset[str] = frozenset({">", ">=", "<", "<=", "=="})
OUTCOME_BASES = frozenset({"total", "percent_reduction", "point_reduction"})
_LOINC = re.compile(r"^(\d{1,7})-(\d)$")
_LOINC_ANSWER = re.compile(r"^LA\d{1,6}-\d$")


def compare(left: float | Fraction, op: str, right: float | Fraction) -> bool:
    """Return `left op right` for one of the operators allowed in definition files (exact for fractions)."""
    if op == ">":
        return left > right
    if op == ">=":
        return left >= right
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    return left == right


@dataclass(frozen=True)
class Compare:
    """`on op value`, where `on` is an item id or "total"."""

    on: str
    op: str
    value: float


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class CountOf:
    """At least `at_least` of `items` satisfy `op value`."""

    items: tuple[str, ...]
    op: str
    value: float
    at_least: int


Condition = Compare | AnyOf | AllOf | CountOf


@dataclass(frozen=True)
class Item:
    id: str
    number: int  # 1-based position in the answer list
    values: tuple[int, ...]
    labels: tuple[str, ...]
    text: str | None = None
    topic: str | None = None
    loinc: str | None = None
    loinc_answers: tuple[str, ...] | None = None
    recall: str | None = None
    source_item: int | None = None
    asked_when: Condition | None = None
    safety: bool = False  # a safety question: never left blank silently ("prefer not to answer" flags it)

    @property
    def field(self) -> str:
        """The field name used in refusals, e.g. `item 3 (gad7_3)`."""
        return f"item {self.number} ({self.id})"

    def label_for(self, value: int) -> str:
        return self.labels[self.values.index(value)]


@dataclass(frozen=True)
class Band:
    min: int
    max: int
    label: str


@dataclass(frozen=True)
class BandSet:
    id: str
    bands: tuple[Band, ...]
    source: str
    note: str = ""

    def label_for(self, total: int) -> str:
        for band in self.bands:
            if band.min <= total <= band.max:
                return band.label
        raise InvalidValue("total", f"{total} is outside every band of band set '{self.id}'")


@dataclass(frozen=True)
class Subscale:
    id: str
    name: str
    items: tuple[str, ...]
    source: str
    note: str = ""


@dataclass(frozen=True)
class Flag:
    id: str
    when: Condition
    source: str
    note: str = ""


@dataclass(frozen=True)
class DerivedLevel:
    """An ordinal result computed from items by rules tested from the most to the least severe level."""

    id: str
    name: str
    default: str
    order: tuple[str, ...]
    levels: tuple[tuple[str, Condition], ...]
    source: str
    note: str = ""


@dataclass(frozen=True)
class Outcome:
    id: str
    on: str  # total | percent_reduction | point_reduction
    op: str
    value: float
    source: str
    note: str = ""


@dataclass(frozen=True)
class Instrument:
    id: str
    name: str
    short_name: str
    version: str
    rater: str
    recall: str | None
    licence: str
    item_text_allowed: bool
    higher_is_worse: bool
    items: tuple[Item, ...]
    total_rule: str  # sum | none
    report_mean: bool
    severity_from: str | None
    missing_rule: str
    missing_note: str
    subscales: tuple[Subscale, ...]
    band_sets: tuple[BandSet, ...]
    flags: tuple[Flag, ...]
    derived: tuple[DerivedLevel, ...]
    outcomes: tuple[Outcome, ...]
    loinc: dict[str, Any]
    sources: tuple[dict[str, Any], ...]
    unverified: tuple[str, ...]
    note: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.items)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def min_total(self) -> int:
        return sum(min(item.values) for item in self.items)

    @property
    def max_total(self) -> int:
        return sum(max(item.values) for item in self.items)

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise InvalidValue("item", f"'{item_id}' is not an item of {self.short_name}")

    def band_set(self, band_set_id: str | None = None) -> BandSet | None:
        """Return the named band set, or the default (first) one; None when the instrument has no bands."""
        if band_set_id is None:
            return self.band_sets[0] if self.band_sets else None
        for band_set in self.band_sets:
            if band_set.id == band_set_id:
                return band_set
        known = ", ".join(b.id for b in self.band_sets) or "none"
        raise InvalidValue("band_set", f"{self.short_name} has no band set '{band_set_id}' (known: {known})")

    def outcome(self, outcome_id: str) -> Outcome:
        for outcome in self.outcomes:
            if outcome.id == outcome_id:
                return outcome
        known = ", ".join(o.id for o in self.outcomes) or "none"
        raise InvalidValue("outcome", f"{self.short_name} has no outcome '{outcome_id}' (known: {known})")


def loinc_check_digit(number: str) -> int:
    """Return the LOINC mod-10 check digit for the numeric part of a LOINC code (same result as Luhn)."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return (10 - total % 10) % 10


def _check_loinc(code: Any, where: str) -> str:
    if not isinstance(code, str) or not (m := _LOINC.match(code)):
        raise ValueError(f"{where}: '{code}' is not a LOINC code")
    if loinc_check_digit(m.group(1)) != int(m.group(2)):
        raise ValueError(f"{where}: LOINC code '{code}' has a wrong check digit")
    return code


@cache
def instrument_ids() -> tuple[str, ...]:
    """Return the ids of every shipped instrument definition, sorted."""
    names = (p.name for p in resources.files(DATA_PACKAGE).iterdir())
    return tuple(sorted(n[: -len(".toml")] for n in names if n.endswith(".toml")))


def load_instrument(instrument_id: str) -> Instrument:
    """Return the checked definition of `instrument_id` (e.g. "gad7"); refuse an unknown id."""
    if not isinstance(instrument_id, str) or instrument_id not in instrument_ids():
        known = ", ".join(instrument_ids())
        raise InvalidValue("instrument", f"unknown instrument '{instrument_id}' (known: {known})")
    return _load(instrument_id)


def all_instruments() -> tuple[Instrument, ...]:
    """Return every shipped instrument definition, sorted by id."""
    return tuple(_load(i) for i in instrument_ids())


@cache
def _load(instrument_id: str) -> Instrument:
    raw = load_toml(DATA_PACKAGE, f"{instrument_id}.toml")
    try:
        return parse_definition(raw, expected_id=instrument_id)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"instrument definition {instrument_id}.toml is invalid: {exc}") from exc


def parse_definition(raw: dict[str, Any], expected_id: str | None = None) -> Instrument:
    """Build and check an `Instrument` from a parsed definition (raises ValueError naming the problem)."""
    _check_header(raw, expected_id)
    item_text_allowed = bool(raw["item_text_allowed"])
    items = _parse_items(raw, item_text_allowed)
    position = _item_positions(items)
    total = raw["total"]
    total_rule = total["rule"]
    if total_rule not in ("sum", "none"):
        raise ValueError("total.rule must be 'sum' or 'none'")
    missing = raw["missing"]
    if missing["rule"] != "refuse":
        raise ValueError("missing.rule: only 'refuse' is implemented (prorating would be a clinic option)")
    if not missing.get("note"):
        raise ValueError("missing.note must say the rule plainly")
    refs = _References(position, total_rule)
    subscales = _parse_subscales(raw, position)
    band_sets = _parse_band_sets(raw, items)
    if band_sets and total_rule == "none":
        raise ValueError("severity bands need a total")
    flags = _parse_flags(raw, refs)
    derived = _parse_derived(raw, refs)
    severity_from = total.get("severity_from")
    if severity_from is not None and severity_from not in {d.id for d in derived}:
        raise ValueError(f"total.severity_from: unknown derived level '{severity_from}'")
    outcomes = _parse_outcomes(raw)
    if outcomes and (total_rule == "none" or not raw["higher_is_worse"]):
        raise ValueError("outcomes need a total where higher is worse")
    loinc = _parse_loinc(raw)

    return Instrument(
        id=raw["id"],
        name=raw["name"],
        short_name=raw["short_name"],
        version=raw["version"],
        rater=raw["rater"],
        recall=raw.get("recall"),
        licence=raw["licence"],
        item_text_allowed=item_text_allowed,
        higher_is_worse=bool(raw["higher_is_worse"]),
        items=items,
        total_rule=total_rule,
        report_mean=bool(total.get("report_mean", False)),
        severity_from=severity_from,
        missing_rule=missing["rule"],
        missing_note=missing["note"],
        subscales=subscales,
        band_sets=band_sets,
        flags=flags,
        derived=derived,
        outcomes=outcomes,
        loinc=loinc,
        sources=tuple(raw["sources"]),
        unverified=tuple(raw.get("unverified", [])),
        note=raw.get("note", ""),
        raw=raw,
    )


def _check_header(raw: dict[str, Any], expected_id: str | None) -> None:
    """Check the schema version, id, rater, sources and the required descriptive strings."""
    if raw.get("schema") != SCHEMA_VERSION:
        raise ValueError(f"schema must be {SCHEMA_VERSION}")
    iid = raw["id"]
    if expected_id is not None and iid != expected_id:
        raise ValueError(f"id '{iid}' does not match file name '{expected_id}'")
    if raw["rater"] not in ("patient", "clinician"):
        raise ValueError("rater must be 'patient' or 'clinician'")
    if not raw.get("sources"):
        raise ValueError("at least one source is required")
    for key in ("name", "short_name", "version", "licence"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ValueError(f"'{key}' is required")


def _parse_items(raw: dict[str, Any], item_text_allowed: bool) -> tuple[Item, ...]:
    """Return the items in order, each with its answers taken from its own table or its response set."""
    response_sets = {rs["id"]: rs for rs in raw.get("response_sets", [])}
    items: list[Item] = []
    for number, ri in enumerate(raw["items"], start=1):
        rs = response_sets[ri["response_set"]] if "response_set" in ri else ri
        items.append(_parse_item(number, ri, rs, item_text_allowed))
    return tuple(items)


def _parse_item(number: int, ri: dict[str, Any], rs: dict[str, Any], item_text_allowed: bool) -> Item:
    """Return one checked item: `ri` is its table, `rs` the table holding its values and labels."""
    values = tuple(rs["values"])
    labels = tuple(rs["labels"])
    if not values or any(not isinstance(v, int) or isinstance(v, bool) for v in values):
        raise ValueError(f"item {ri['id']}: values must be integers")
    if list(values) != sorted(set(values)):
        raise ValueError(f"item {ri['id']}: values must be unique and ascending")
    if len(labels) != len(values):
        raise ValueError(f"item {ri['id']}: one label per value is required")
    answers = rs.get("loinc_answers")
    if answers is not None:
        if len(answers) != len(values) or not all(_LOINC_ANSWER.match(a) for a in answers):
            raise ValueError(f"item {ri['id']}: loinc_answers must be one LA code per value")
        answers = tuple(answers)
    if ri.get("text") and not item_text_allowed:
        raise ValueError(f"item {ri['id']}: item text is shipped but the licence does not allow it")
    loinc = ri.get("loinc")
    if loinc is not None:
        _check_loinc(loinc, f"item {ri['id']}")
    return Item(
        id=ri["id"],
        number=number,
        values=values,
        labels=labels,
        text=ri.get("text"),
        topic=ri.get("topic"),
        loinc=loinc,
        loinc_answers=answers,
        recall=ri.get("recall"),
        source_item=ri.get("source_item"),
        asked_when=_condition(ri["asked_when"]) if "asked_when" in ri else None,
        safety=bool(ri.get("safety", False)),
    )


def _item_positions(items: tuple[Item, ...]) -> dict[str, int]:
    """Return each item's 0-based position; refuse duplicate ids and skip logic that looks ahead."""
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        raise ValueError("item ids must be unique")
    position = {item_id: n for n, item_id in enumerate(ids)}
    for item in items:
        if item.asked_when is not None:
            for ref in _references(item.asked_when):
                if ref == "total" or position.get(ref, len(ids)) >= position[item.id]:
                    raise ValueError(f"item {item.id}: asked_when must refer to an earlier item")
    return position


@dataclass(frozen=True)
class _References:
    """Checks that a condition refers only to this instrument's items (and its total, if it has one)."""

    position: dict[str, int]
    total_rule: str

    def known(self, cond: Condition, where: str, allow_total: bool = True) -> Condition:
        for ref in _references(cond):
            if ref == "total" and (not allow_total or self.total_rule == "none"):
                raise ValueError(f"{where}: refers to a total this instrument does not have")
            if ref != "total" and ref not in self.position:
                raise ValueError(f"{where}: unknown item '{ref}'")
        return cond


def _parse_subscales(raw: dict[str, Any], position: dict[str, int]) -> tuple[Subscale, ...]:
    subscales = []
    for rs_ in raw.get("subscales", []):
        for ref in rs_["items"]:
            if ref not in position:
                raise ValueError(f"subscale {rs_['id']}: unknown item '{ref}'")
        subscales.append(
            Subscale(rs_["id"], rs_["name"], tuple(rs_["items"]), rs_["source"], rs_.get("note", ""))
        )
    return tuple(subscales)


def _parse_band_sets(raw: dict[str, Any], items: tuple[Item, ...]) -> tuple[BandSet, ...]:
    """Return the severity band sets; each must tile the possible totals without gaps and cite a source."""
    min_total = sum(min(i.values) for i in items)
    max_total = sum(max(i.values) for i in items)
    band_sets = []
    for bs in raw.get("band_sets", []):
        bands = tuple(Band(int(b["min"]), int(b["max"]), b["label"]) for b in bs["bands"])
        expected = min_total
        for band in bands:
            if band.min != expected or band.max < band.min:
                raise ValueError(f"band set {bs['id']}: bands must tile {min_total}-{max_total} without gaps")
            expected = band.max + 1
        if expected != max_total + 1:
            raise ValueError(f"band set {bs['id']}: bands must end at the maximum total {max_total}")
        if not bs.get("source"):
            raise ValueError(f"band set {bs['id']}: a source is required")
        band_sets.append(BandSet(bs["id"], bands, bs["source"], bs.get("note", "")))
    return tuple(band_sets)


def _parse_flags(raw: dict[str, Any], refs: _References) -> tuple[Flag, ...]:
    flags = []
    for rf in raw.get("flags", []):
        if not rf.get("source"):
            raise ValueError(f"flag {rf['id']}: a source is required")
        when = refs.known(_condition(rf["when"]), f"flag {rf['id']}")
        flags.append(Flag(rf["id"], when, rf["source"], rf.get("note", "")))
    return tuple(flags)


def _parse_derived(raw: dict[str, Any], refs: _References) -> tuple[DerivedLevel, ...]:
    """Return the derived levels; their levels must run from most to least severe of `order`."""
    derived = []
    for rd in raw.get("derived", []):
        order = tuple(rd["order"])
        levels = tuple(
            (lv["label"], refs.known(_condition(lv["when"]), f"derived {rd['id']}")) for lv in rd["levels"]
        )
        labels_seen = [label for label, _ in levels] + [rd["default"]]
        if labels_seen != list(reversed(order)):
            raise ValueError(f"derived {rd['id']}: levels must run from most to least severe of 'order'")
        derived.append(
            DerivedLevel(rd["id"], rd["name"], rd["default"], order, levels, rd["source"], rd.get("note", ""))
        )
    return tuple(derived)


def _parse_outcomes(raw: dict[str, Any]) -> tuple[Outcome, ...]:
    outcomes = []
    for oid, ro in raw.get("outcomes", {}).items():
        cond = ro["when"]
        if cond.get("on") not in OUTCOME_BASES or cond.get("op") not in OPS:
            raise ValueError(f"outcome {oid}: 'on' must be one of {sorted(OUTCOME_BASES)} with a valid op")
        if not ro.get("source"):
            raise ValueError(f"outcome {oid}: a source is required")
        outcomes.append(Outcome(oid, cond["on"], cond["op"], cond["value"], ro["source"], ro.get("note", "")))
    return tuple(outcomes)


def _parse_loinc(raw: dict[str, Any]) -> dict[str, Any]:
    """Return the instrument's LOINC codes (panel, total, derived levels), each check digit verified."""
    loinc = dict(raw.get("loinc", {}))
    for key in ("panel", "total"):
        if key in loinc:
            _check_loinc(loinc[key], f"loinc.{key}")
    for key, code in loinc.get("derived", {}).items():
        _check_loinc(code, f"loinc.derived.{key}")
    return loinc


def _condition(raw: dict[str, Any]) -> Condition:
    if "any_of" in raw:
        return AnyOf(tuple(_condition(p) for p in raw["any_of"]))
    if "all_of" in raw:
        return AllOf(tuple(_condition(p) for p in raw["all_of"]))
    if raw.get("op") not in OPS:
        raise ValueError(f"condition {raw}: op must be one of {sorted(OPS)}")
    if "count_of" in raw:
        return CountOf(tuple(raw["count_of"]), raw["op"], raw["value"], int(raw["at_least"]))
    return Compare(raw["on"], raw["op"], raw["value"])


def _references(cond: Condition) -> list[str]:
    if isinstance(cond, Compare):
        return [cond.on]
    if isinstance(cond, CountOf):
        return list(cond.items)
    return [ref for part in cond.parts for ref in _references(part)]
