"""Consent documents as data (issue 16, item 1): versioned, one per product and route, the evidence for each
anxiety indication in plain words with citations (thin and negative evidence said so), every required risk, the
Mathai 2022 checklist, a plain reading level, and no internal tags."""

from __future__ import annotations

import copy
import datetime as dt
import re
import tomllib
from pathlib import Path

import pytest

import ketacare
from ketacare.domain.dosing.protocol import all_protocols
from ketacare.domain.plans import DataFileError, consent_for_route, consent_templates, parse_consent_template
from ketacare.domain.sources import cite_parts, known, plain

DATA = Path(ketacare.__file__).parent / "domain/plans/data/consent"
IDS = sorted(p.stem for p in DATA.glob("*.toml"))
# What a reader must find in each risk (the words a patient would look for).
RISK_WORDS = {
    "dissociation": "unreal",
    "blood-pressure": "blood pressure",
    "nausea": "sick",
    "misuse": "misuse",
    "bladder": "bladder",
    "driving": "until the next day",
}


def _raw(consent_id: str) -> dict:
    return tomllib.loads((DATA / f"{consent_id}.toml").read_text())


def test_every_consent_file_loads_with_a_version_and_an_effective_date():
    docs = consent_templates()
    assert set(docs) == set(IDS) and len(IDS) >= 4
    for c in docs.values():
        assert c.version and isinstance(c.effective, dt.date)
        assert c.valid_months > 0 and known(c.valid_source)


def test_every_route_of_the_protocol_library_has_a_consent_document():
    for p in all_protocols():
        docs = consent_for_route(p.route)
        assert docs, f"no consent covers {p.route} ({p.id})"
        assert all(d.off_label for d in docs)  # every route is off-label for anxiety


def test_racemic_routes_and_esketamine_have_their_own_documents():
    docs = consent_templates()
    assert docs["racemic-iv"].routes == ("iv",)
    assert docs["esketamine-nasal"].product.startswith("esketamine")
    assert "licensed for depression" in docs["esketamine-nasal"].section("off-label").text
    for c in docs.values():
        assert "off-label" in c.section("off-label").text


@pytest.mark.parametrize("consent_id", IDS)
def test_consent_texts_mention_every_required_risk(consent_id):
    c = consent_templates()[consent_id]
    for risk_id, words in RISK_WORDS.items():
        assert words in c.risk(risk_id).text.lower(), risk_id
    assert "next day" in c.risk("driving").text and "sleep" in c.risk("driving").text


@pytest.mark.parametrize("consent_id", IDS)
def test_consent_covers_the_mathai_checklist(consent_id):
    c = consent_templates()[consent_id]
    assert c.raw["checklist_source"] == "mathai2022"
    assert c.section("long-term-risks").text and c.section("alternatives").text
    assert "psychotherapy" in {s.id for s in c.sections} and "pre-treatment-evaluation" in {s.id for s in c.sections}
    assert "stop at any time" in c.section("your-choice").text


@pytest.mark.parametrize("consent_id", IDS)
def test_evidence_for_each_indication_is_cited_and_says_where_it_is_thin_or_negative(consent_id):
    c = consent_templates()[consent_id]
    by_id = {i.id: i for i in c.indications}
    assert set(by_id) == {"gad", "social-anxiety", "panic", "ptsd"}
    for i in c.indications:
        assert any(p.is_source for p in cite_parts(i.text)), f"{i.id}: no citation"
    assert by_id["panic"].strength == "none" and "no trial" in by_id["panic"].text.lower()
    assert by_id["gad"].strength == "thin" and "thin" in by_id["gad"].text
    ptsd = plain(by_id["ptsd"].text)
    assert by_id["ptsd"].strength == "mixed" and "Feder 2021" in ptsd and "Abdallah 2022" in ptsd
    assert "no benefit" in ptsd


@pytest.mark.parametrize("consent_id", IDS)
def test_every_text_with_a_number_cites_a_known_source_and_no_internal_tag(consent_id):
    c = consent_templates()[consent_id]
    for text in c.texts():
        if re.search(r"\d", text):
            assert any(p.is_source for p in cite_parts(text)), text
        for group in re.findall(r"\[([^\]]+)\]", text):
            assert all(known(k.strip()) for k in group.split(",")), group
        assert not re.search(r"\[S\d", text) and "KNOWLEDGE" not in text


def _syllables(word: str) -> int:
    groups = re.findall(r"[aeiouy]+", word.lower())
    n = len(groups) - (1 if word.lower().endswith("e") and len(groups) > 1 else 0)
    return max(1, n)


def _grade(text: str) -> float:
    """Flesch-Kincaid grade of `text` (citations removed first)."""
    text = re.sub(r"\[[^\]]+\]", "", text)
    sentences = max(1, len(re.findall(r"[.!?](?:\s|$)", text)))
    words = re.findall(r"[A-Za-z]+", text)
    syllables = sum(_syllables(w) for w in words)
    return 0.39 * len(words) / sentences + 11.8 * syllables / len(words) - 15.59


@pytest.mark.parametrize("consent_id", IDS)
def test_consent_is_written_at_a_plain_reading_level(consent_id):
    c = consent_templates()[consent_id]
    whole = " ".join(c.texts()[1:])
    assert _grade(whole) <= 8.0
    for text in c.texts()[1:]:
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", re.sub(r"\[[^\]]+\]", "", text)) if s]
        assert max(len(s.split()) for s in sentences) <= 30, text


def test_a_document_missing_a_required_risk_is_refused():
    raw = copy.deepcopy(_raw("racemic-iv"))
    raw["risk"] = [r for r in raw["risk"] if r["id"] != "bladder"]
    with pytest.raises(DataFileError, match="bladder"):
        parse_consent_template(raw)


def test_a_number_without_a_citation_is_refused():
    raw = copy.deepcopy(_raw("racemic-iv"))
    raw["risk"][1]["text"] = "Blood pressure rises by about 13 points."
    with pytest.raises(DataFileError, match="must cite"):
        parse_consent_template(raw)


def test_an_unknown_citation_is_refused():
    raw = copy.deepcopy(_raw("racemic-iv"))
    raw["section"][0]["text"] += " [nobody2099]"
    with pytest.raises(DataFileError, match="nobody2099"):
        parse_consent_template(raw)
