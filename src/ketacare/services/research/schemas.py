"""Shapes of the research export shared by the api, the web page and the CLI."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ExportRequest(BaseModel):
    """What to export: the export key (the same key gives the same ids and date shifts) and the file format."""

    export_key: str = Field(
        min_length=3,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Name of the export (letters, digits, '.', '_', '-'); the same name gives the same ids and shifts",
    )
    format: Literal["csv", "parquet"] = "csv"


class FileSummary(BaseModel):
    """One exported file and its row count."""

    name: str
    rows: int


class RiskSummary(BaseModel):
    """Re-identification risk: k is the size of the smallest group of patients sharing the quasi-identifiers."""

    quasi_identifiers: list[str]
    patients: int
    groups: int
    k: int
    min_cell_count: int
    min_cell_source: str
    patients_in_small_groups: int = Field(description="Patients in groups smaller than min_cell_count")
    suppressed_cells: int = Field(description="Aggregate cells shown as '<k'")


class ExportResult(BaseModel):
    """What an export wrote."""

    export_key: str
    format: str
    files: list[FileSummary]
    rows: int
    seconds: float
    rows_per_second: float
    risk: RiskSummary
