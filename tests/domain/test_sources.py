"""The sources the product ships: every data file cites bibliography keys, and no internal note leaks out.

A clinician reading a screening decision must be able to follow its source: a citation is a key of
`domain/bibliography.toml` (rendered "Author Year"), or a label that says in plain words that a value is a clinic
default. Tags of the team's own notes ("[S32b]", "KNOWLEDGE.md 4.1", "pack 2.3", "docs/pk-validation.md") mean
nothing to a reader and must not appear in any shipped data file.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

import ketacare
from ketacare.domain import sources
from ketacare.domain.sources import KEY_PATTERN, bibliography, cite_parts, labels, plain, source_keys

SRC = Path(ketacare.__file__).parent
DATA_FILES = sorted(p for p in SRC.rglob("*.toml") if p.name != "bibliography.toml") + sorted(SRC.rglob("*.json"))

# Tags of the team's internal notes. (ICD-10 codes such as "S06" are legitimate data, so a bare "S06" is not a tag.)
INTERNAL = re.compile(
    r"\[S\d{1,2}[a-z]?[\]\[,;]"  # [S32b], [S32b][S14], [S53, S54]
    r"|\bS\d{1,2}[a-z]?;"  # "S53; S54"
    r"|(?-i:KNOWLEDGE)"  # KNOWLEDGE.md 4.1, KNOWLEDGE section 13
    r"|\bpack (?:section )?\d"  # pack 2.3, pack section 6
    r"|\(pack\b|\bthe pack\b|knowledge pack"
    r"|UNVERIFIED \(pack"
    r"|pk-validation|MODELS\.md|/work/shared",
    re.IGNORECASE,
)
PLAIN_SOURCE_FIELD = re.compile(rf"^{KEY_PATTERN}(, {KEY_PATTERN})*$")


def _is_source_field(name: str) -> bool:
    return name == "citation" or name == "source" or name.endswith("_source") or (
        name.startswith("source_") and name != "source_item"  # cadss6: the item number in the full CADSS
    )


def _walk(node: Any, path: str = ""):
    """Yield (dotted path, field name, value) for every value of a parsed TOML/JSON document."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{path}.{k}" if path else k)
            if not isinstance(v, dict | list):
                yield f"{path}.{k}" if path else k, k, v
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")
            if not isinstance(v, dict | list):
                yield f"{path}[{i}]", path.rsplit(".", 1)[-1], v


def _toml_files():
    return [p for p in DATA_FILES if p.suffix == ".toml"]


def _source_fields():
    for p in _toml_files():
        doc = tomllib.loads(p.read_text())
        for where, name, value in _walk(doc):
            if _is_source_field(name):
                yield p, where, value
        if isinstance(doc.get("sources"), list):  # an instrument definition lists its sources by key
            for key in doc["sources"]:
                yield p, "sources", key


def test_the_bibliography_is_complete_enough_to_find_each_source():
    bib = bibliography()
    assert len(bib) >= 100
    for key, s in bib.items():
        assert re.fullmatch(KEY_PATTERN, key), key
        assert s.authors and s.title and s.published and s.supports and s.read, key
        assert s.year or s.cite_as, f"{key}: an entry without a year needs `cite_as`"
        assert s.doi or s.url or s.published, key
    shorts = [s.short for s in bib.values()]
    assert len(shorts) == len(set(shorts)), "two entries would print the same 'Author Year'"
    assert not set(bib) & set(labels())


def test_author_year_is_what_a_reader_sees():
    assert plain("sanacora2017") == "Sanacora 2017"
    assert plain("glue2018") == "Glue 2018"
    assert plain("glue2017a, glue2020") == "Glue 2017a; Glue 2020"
    assert plain("alshirawi2017") == "Al Shirawi 2017"
    assert plain("vonglischinski2018") == "von Glischinski 2018"
    assert plain("clinic-default") == "clinic default, not from a published guideline"
    assert plain("0.5 mg/kg over 40 min [taylor2018, feder2021]") == "0.5 mg/kg over 40 min (Taylor 2018; Feder 2021)"
    # text that only looks like a key is left alone, and so are paths and URLs
    assert plain("see data/rules.toml and https://example.org/fava2020") == (
        "see data/rules.toml and https://example.org/fava2020"
    )


@pytest.mark.parametrize("path", _toml_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_every_source_field_cites_bibliography_keys(path):
    bad = []
    for p, where, value in _source_fields():
        if p != path:
            continue
        if not isinstance(value, str) or not PLAIN_SOURCE_FIELD.match(value):
            bad.append(f"{where} = {value!r}: cite bibliography keys separated by ', '")
            continue
        missing = [k for k in source_keys(value) if not sources.known(k)]
        if missing:
            bad.append(f"{where}: {', '.join(missing)} not in domain/bibliography.toml")
    assert bad == []


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_data_file_carries_an_internal_tag(path):
    hits = [f"line {n}: {line.strip()[:120]}" for n, line in enumerate(path.read_text().splitlines(), 1)
            if INTERNAL.search(line)]
    assert hits == []


@pytest.mark.parametrize("path", _toml_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_every_bracketed_citation_in_free_text_is_in_the_bibliography(path):
    doc = tomllib.loads(path.read_text())
    missing = []
    for where, _name, value in _walk(doc):
        if not isinstance(value, str):
            continue
        for group in re.findall(rf"\[({KEY_PATTERN}(?:, {KEY_PATTERN})*)\]", value):
            missing += [f"{where}: [{k}]" for k in group.split(", ") if not sources.known(k)]
    assert missing == []


def test_unverified_values_keep_their_label_in_plain_words():
    rules = tomllib.loads((SRC / "domain/eligibility/data/rules.toml").read_text())["rule"]
    unverified = [r for r in rules if r.get("verified") is False]
    assert unverified
    for r in unverified:
        shown = plain(r["source"])
        assert "not from a published guideline" in shown or "design decision" in shown, r["id"]


def test_the_internal_tag_check_catches_each_kind_of_tag():
    for leak in ["Spravato label [S32b]", "[KNOWLEDGE.md 4.1, S36c]", "UNVERIFIED (pack 2.3)", "S53; S54",
                 "see docs/pk-validation.md", "[S32c][S14]", "pack section 13"]:
        assert INTERNAL.search(leak), leak
    for fine in ['icd10 = ["S06"]', "sanacora2017", "clinic default, not from a published guideline"]:
        assert not INTERNAL.search(fine), fine


def test_cite_parts_separates_citations_from_text():
    parts = cite_parts("BP > 140/90 [spravato-label]; mean rise vankawala2021")
    assert [(p.text, p.key) for p in parts if p.key] == [("Spravato label", "spravato-label"),
                                                         ("Vankawala 2021", "vankawala2021")]
    assert "".join(p.text for p in parts) == "BP > 140/90 (Spravato label); mean rise Vankawala 2021"
