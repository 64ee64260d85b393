"""Streaming table writers: CSV and Parquet with pyarrow's writers, a batch of columns at a time."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ketacare.services.research.columns import ExportFile

TIMESTAMP = pa.timestamp("us", tz="UTC")
_ARROW = {
    "string": pa.string(),
    "integer": pa.int64(),
    "float": pa.float64(),
    "boolean": pa.bool_(),
    "timestamp": TIMESTAMP,
    "date": pa.date32(),
}


def arrow_type(type_name: str) -> pa.DataType:
    """Return the Arrow type of a data-dictionary type name."""
    return _ARROW[type_name]


def iso_utc(col: pa.Array) -> pa.Array:
    """Format UTC timestamps as "2026-11-30T08:00:00Z" ("...:00.500000Z" when there are microseconds)."""
    naive = col.cast(pa.int64()).cast(pa.timestamp("us"))  # formatting a zoned column is ~50x slower in Arrow
    seconds = naive.cast(pa.timestamp("s"), safe=False)
    text = pc.if_else(pc.equal(naive, seconds.cast(pa.timestamp("us"))), seconds.cast(pa.string()),
                      naive.cast(pa.string()))
    return pc.binary_join_element_wise(pc.replace_substring(text, " ", "T", max_replacements=1), "Z", "")


class TableWriter:
    """Write one export file, `DIR/NAME.csv` or `DIR/NAME.parquet`, from batches of columns in the file's order."""

    def __init__(self, directory: Path, spec: ExportFile, fmt: str) -> None:
        self.spec, self.fmt, self.rows = spec, fmt, 0
        self.path = directory / f"{spec.name}.{fmt}"
        self.schema = pa.schema([pa.field(c.name, _ARROW[c.type]) for c in spec.columns])
        if fmt == "csv":
            self._file = self.path.open("wb")
            header = io.StringIO()
            csv.writer(header).writerow(self.schema.names)
            self._file.write(header.getvalue().encode("utf-8"))
            self._text_schema = pa.schema([pa.field(f.name, pa.string() if f.type == TIMESTAMP else f.type)
                                     for f in self.schema])
            options = pacsv.WriteOptions(include_header=False)
            self._csv = pacsv.CSVWriter(self._file, self._text_schema, write_options=options)
        else:
            self._pq = pq.ParquetWriter(self.path, self.schema, compression="zstd")

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        """Append one batch of rows (tuples in the file's column order)."""
        if rows:
            cols = list(zip(*rows, strict=True))
            self.write_columns([pa.array(c, type=f.type) for c, f in zip(cols, self.schema, strict=True)])

    def write_columns(self, columns: list[pa.Array]) -> None:
        """Append one batch given as columns (Arrow arrays of the file's types, in its column order)."""
        if not len(columns[0]):
            return
        self.rows += len(columns[0])
        if self.fmt == "csv":
            text = [iso_utc(c) if c.type == TIMESTAMP else c for c in columns]
            self._csv.write_batch(pa.RecordBatch.from_arrays(text, schema=self._text_schema))
            return
        self._pq.write_batch(pa.RecordBatch.from_arrays(columns, schema=self.schema))

    def close(self) -> None:
        if self.fmt == "csv":
            self._csv.close()
            self._file.close()
        else:
            self._pq.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
