"""The shipped diagnosis code list (ICD-10-CM + ICD-11), read from `domain/patients/diagnoses.toml`."""

from __future__ import annotations

from dataclasses import dataclass

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue


@dataclass(frozen=True)
class DiagnosisConcept:
    """One entry of the code list, with the codes in each system and their provenance."""

    concept: str
    display: str
    category: str
    icd10cm: str
    icd11: str
    snomed: str
    source: str
    verified: bool
    screening: str


def code_list() -> list[DiagnosisConcept]:
    """Return every diagnosis concept in the shipped list, in file order."""
    return [
        DiagnosisConcept(
            concept=d["concept"],
            display=d["display"],
            category=d["category"],
            icd10cm=d.get("icd10cm", ""),
            icd11=d.get("icd11", ""),
            snomed=d.get("snomed", ""),
            source=d["source"],
            verified=bool(d["verified"]),
            screening=d.get("screening", ""),
        )
        for d in load_toml("ketacare.domain.patients", "diagnoses.toml")["diagnosis"]
    ]


def code_list_version() -> str:
    """Return the version stamp of the shipped code list."""
    return str(load_toml("ketacare.domain.patients", "diagnoses.toml")["version"])


def find_concept(key: str, field: str = "concept") -> DiagnosisConcept:
    """Return the concept for a key, an ICD-10-CM code or an ICD-11 code; refuse anything not on the list."""
    wanted = (key or "").strip()
    if not wanted:
        raise InvalidValue(field, "a diagnosis is required: pick one from the code list")
    for c in code_list():
        if wanted.lower() == c.concept or wanted.upper() == c.icd10cm:
            return c
    for c in code_list():
        if c.icd11 and wanted.upper() == c.icd11:
            return c
    raise InvalidValue(
        field, f"'{wanted}' is not on the shipped diagnosis list (ICD-10-CM or ICD-11 code, or a concept key)"
    )
