"""Write the demo tables as a CSV folder in the formats of docs/import-format.md."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from kizuna.demo.tables import DemoTables


def _csv_ready(table: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 (``2024-05-01T09:30:00``); everything else as Arrow writes it."""
    columns = []
    for column in table.columns:
        if pa.types.is_timestamp(column.type):
            column = pc.strftime(column, format="%Y-%m-%dT%H:%M:%S")
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def write_csv_folder(tables: DemoTables, folder: Path) -> list[Path]:
    """One UTF-8 CSV file per table (``customers.csv``, …); returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
    written: list[Path] = []
    for name, table in tables.items():
        path = folder / f"{name}.csv"
        pacsv.write_csv(_csv_ready(table), path, write_options=options)
        written.append(path)
    return written
