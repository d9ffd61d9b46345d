"""Reading one CSV file for import: every row checked, good rows kept, bad rows reported.

The shared validating reader (:func:`kizuna.sources.csv_reader.parse_rows`) is all or
nothing for a file. An import needs more: the good rows of a file that has bad ones (for
``--skip-invalid``, and to check the references of the good rows in all-or-nothing mode), and
progress on large files. So the file is fed to the reader in chunks of whole CSV records; a
chunk with problems is read again with its bad records blanked out, which the reader skips.
Line numbers are those of the original file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.utils.translation import gettext

from kizuna.ingest.report import FileReport
from kizuna.sources.csv_reader import Column, InputError, parse_rows

# Records per reader call: large enough that the per-call cost vanishes, small enough to show
# progress on a million-row file.
CHUNK_RECORDS = 50_000
# The reader stops after 200 problems; a chunk that hits that limit is read again in pieces
# this small, which can never hold that many problems (16 records × at most 12 columns).
SMALL_CHUNK_RECORDS = 16
_STOPPED = "too many problems; stopped reading here"

Progress = Callable[[str, str, int, int], None]
"""Called as ``progress(file, phase, done, total)``; phase is ``read`` or ``write``."""


@dataclass
class SourceRows:
    """The valid rows of a file, column-wise, with the line each row came from."""

    values: dict[str, list[Any]]
    lines: list[int]
    present: frozenset[str] = field(default_factory=frozenset)
    """Columns present in the header (optional columns may be absent)."""

    def __len__(self) -> int:
        return len(self.lines)

    def row(self, index: int) -> dict[str, Any]:
        return {name: column[index] for name, column in self.values.items()}


class _Record(NamedTuple):
    first_line: int
    last_line: int


def _split_records(text: str) -> tuple[list[str], int, list[_Record], int]:
    """Header cells, the lines the header spans, every record's lines, and non-blank records.

    Only line spans are kept: holding every cell of a million-row file would double its memory.
    """
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    header_lines = reader.line_num
    records: list[_Record] = []
    previous = header_lines
    filled = 0
    for cells in reader:
        records.append(_Record(previous + 1, reader.line_num))
        previous = reader.line_num
        if cells and any(cells):
            filled += 1
    return header, header_lines, records, filled


def _cells(physical: list[str], record: _Record) -> list[str]:
    """The cells of one record, read again from its lines (for the rejected-rows file)."""
    lines = physical[record.first_line - 1 : record.last_line]
    return next(csv.reader(io.StringIO("\n".join(lines))), [])


def _problem_line(name: str, problem: str) -> tuple[int, str]:
    rest = problem.removeprefix(f"{name}:")
    number, _, message = rest.partition(": ")
    return int(number), message


def read_source(
    name: str,
    text: str,
    columns: Sequence[Column],
    report: FileReport,
    progress: Progress | None = None,
) -> SourceRows | None:
    """Parse ``text``; problems go to ``report``. ``None`` when the file cannot be read at all
    (empty, or a required column is missing): then every row of it is rejected."""
    physical = text.split("\n")
    header, header_lines, records, report.rows = _split_records(text)
    report.header = [cell.strip() for cell in header]
    header_text = "\n".join(physical[:header_lines])
    try:
        parse_rows(name, header_text + "\n", columns)
    except InputError as error:
        for problem in error.problems:
            line, message = _problem_line(name, problem)
            report.problem(line, message)
        for record in records:
            cells = _cells(physical, record)
            if any(cell.strip() for cell in cells):
                report.problem(record.last_line, _file_rejected_message())
                report.raw_rows[record.last_line] = cells
        return None
    values: dict[str, list[Any]] = {column.name: [] for column in columns}
    lines: list[int] = []
    for start in range(0, len(records), CHUNK_RECORDS):
        chunk = records[start : start + CHUNK_RECORDS]
        _read_chunk(name, physical, header_text, chunk, columns, report, values, lines)
        if progress is not None:
            progress(name, "read", min(start + CHUNK_RECORDS, len(records)), len(records))
    present = frozenset(cell for cell in report.header)
    return SourceRows(values, lines, present)


def _file_rejected_message() -> str:
    return gettext("not imported: the file cannot be read (see line 1)")


def _chunk_text(
    physical: list[str], header_text: str, chunk: Sequence[_Record], blank: set[int]
) -> str:
    parts = [header_text]
    for record in chunk:
        span = physical[record.first_line - 1 : record.last_line]
        if record.last_line in blank:
            span = [""] * len(span)
        parts.extend(span)
    return "\n".join(parts)


def _read_chunk(
    name: str,
    physical: list[str],
    header_text: str,
    chunk: Sequence[_Record],
    columns: Sequence[Column],
    report: FileReport,
    values: dict[str, list[Any]],
    lines: list[int],
) -> None:
    if not chunk:
        return
    header_lines = header_text.count("\n") + 1
    # Chunk text line → original line: the chunk's records follow the header without gaps.
    offset = chunk[0].first_line - header_lines - 1
    blank: set[int] = set()
    for _attempt in range(2):
        text = _chunk_text(physical, header_text, chunk, blank)
        try:
            chunk_values, chunk_lines = parse_rows(name, text, columns)
        except InputError as error:
            if error.problems and error.problems[-1].endswith(_STOPPED):
                for start in range(0, len(chunk), SMALL_CHUNK_RECORDS):
                    _read_chunk(
                        name,
                        physical,
                        header_text,
                        chunk[start : start + SMALL_CHUNK_RECORDS],
                        columns,
                        report,
                        values,
                        lines,
                    )
                return
            by_last_line = {record.last_line: record for record in chunk}
            for problem in error.problems:
                line, message = _problem_line(name, problem)
                original = line + offset
                report.problem(original, message)
                record = by_last_line.get(original)
                if record is not None:
                    report.raw_rows[original] = _cells(physical, record)
                blank.add(original)
            continue
        for column, column_values in chunk_values.items():
            values[column].extend(column_values)
        lines.extend(line + offset for line in chunk_lines)
        return
    raise AssertionError("a chunk with its bad records blanked out still has problems")


def fill_raw_rows(text: str, report: FileReport) -> None:
    """Keep the cells of every rejected row the reader passed (a later check rejected it)."""
    missing = set(report.rejected_lines) - set(report.raw_rows)
    if not missing:
        return
    physical = text.split("\n")
    _header, _header_lines, records, _filled = _split_records(text)
    for record in records:
        if record.last_line in missing:
            report.raw_rows[record.last_line] = _cells(physical, record)
