"""De-identified research export (services layer): `export` (stream every table through the de-identification
rules into CSV or Parquet with a data dictionary and a risk summary), `columns` (the data dictionary), `keys`.

Other capabilities use research only through the names below.
"""

from typing import TYPE_CHECKING, Any

from ketacare.services.research.keys import ResearchKeyError
from ketacare.services.research.schemas import ExportRequest, ExportResult, FileSummary, RiskSummary

if TYPE_CHECKING:
    from ketacare.services.research.export import export_to_dir, local_actor, min_cell_count, zip_directory

_FROM_EXPORT = frozenset({"export_to_dir", "local_actor", "min_cell_count", "zip_directory"})


def __getattr__(name: str) -> Any:
    """Load the exporter (and with it pyarrow, ~80 MB) at its first use, not in every app process (issue 15)."""
    if name in _FROM_EXPORT:
        from ketacare.services.research import export

        return getattr(export, name)
    raise AttributeError(name)


__all__ = [
    "ExportRequest",
    "ExportResult",
    "FileSummary",
    "ResearchKeyError",
    "RiskSummary",
    "export_to_dir",
    "local_actor",
    "min_cell_count",
    "zip_directory",
]
