"""De-identified research export (services layer): `export` (stream every table through the de-identification
rules into CSV or Parquet with a data dictionary and a risk summary), `columns` (the data dictionary), `keys`.

Other capabilities use research only through the names below.
"""

from ketacare.services.research.export import export_to_dir, local_actor, min_cell_count, zip_directory
from ketacare.services.research.keys import ResearchKeyError
from ketacare.services.research.schemas import ExportRequest, ExportResult, FileSummary, RiskSummary

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
