"""Streaming table writers: CSV (text) and Parquet (pyarrow), a batch of rows at a time."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ketacare.services.research.columns import ExportFile

_ARROW = {
    "string": pa.string(),
    "integer": pa.int64(),
    "float": pa.float64(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
}


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%SZ") if not v.microsecond else v.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


class TableWriter:
    """Write rows (tuples in the file's column order) to `DIR/NAME.csv` or `DIR/NAME.parquet`."""

    def __init__(self, directory: Path, spec: ExportFile, fmt: str) -> None:
        self.spec, self.fmt, self.rows = spec, fmt, 0
        self.path = directory / f"{spec.name}.{fmt}"
        names = [c.name for c in spec.columns]
        if fmt == "csv":
            self._file = self.path.open("w", encoding="utf-8", newline="")
            self._csv = csv.writer(self._file)
            self._csv.writerow(names)
        else:
            self._schema = pa.schema([pa.field(c.name, _ARROW[c.type]) for c in spec.columns])
            self._pq = pq.ParquetWriter(self.path, self._schema, compression="zstd")

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        """Append one batch of rows."""
        if not rows:
            return
        self.rows += len(rows)
        if self.fmt == "csv":
            self._csv.writerows([_text(v) for v in r] for r in rows)
            return
        cols = list(zip(*rows, strict=True))
        arrays = [pa.array(col, type=f.type) for col, f in zip(cols, self._schema, strict=True)]
        self._pq.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self._schema))

    def close(self) -> None:
        if self.fmt == "csv":
            self._file.close()
        else:
            self._pq.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
