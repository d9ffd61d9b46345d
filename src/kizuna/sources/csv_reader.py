"""Typed, validated reading of the CSV files every engine and importer accepts.

A file is described by a list of :class:`Column`. Reading checks every cell and collects
*all* problems as ``file:line: message`` (line numbers count the header as line 1), so a user
can fix a file in one pass. Nothing is returned unless the whole file is valid.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

Kind = Literal["str", "int", "decimal", "date", "datetime", "bool", "month"]

# Money and prices keep 6 decimal places: enough for per-unit prices of metered items while
# staying exact; amounts are rounded to the currency's minor unit only at output.
DECIMAL_TYPE = pa.decimal128(24, 6)

ARROW_TYPES: dict[str, pa.DataType] = {
    "str": pa.string(),
    "int": pa.int64(),
    "decimal": DECIMAL_TYPE,
    "date": pa.date32(),
    "datetime": pa.timestamp("s"),
    "bool": pa.bool_(),
    "month": pa.date32(),
}

# Cap on reported problems per file: past this, the rest are summarised in one line.
MAX_REPORTED_PROBLEMS = 200


class InputError(Exception):
    """Invalid input; ``problems`` holds one ``file:line: message`` string per problem."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "str"
    required: bool = True
    """The column must be present in the header."""
    default: Any = None
    """Value used when the cell (or an optional column) is empty; ``None`` keeps it null."""
    nullable: bool = False
    """An empty cell is allowed (and becomes ``default``)."""
    choices: tuple[str, ...] | None = None
    min_value: Decimal | int | None = None


_JP_DATE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日$")
_SLASH_DATE = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_JP_MONTH = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月$")
TRUE_WORDS = {"true", "t", "yes", "y", "1"}
FALSE_WORDS = {"false", "f", "no", "n", "0"}


def normalise_cell(text: str) -> str:
    """Full-width digits, letters and punctuation (Japanese Excel exports) to ASCII; trimmed."""
    return unicodedata.normalize("NFKC", text).strip()


def parse_date(text: str) -> date:
    for pattern in (_JP_DATE, _SLASH_DATE):
        match = pattern.match(text)
        if match:
            year, month, day = (int(g) for g in match.groups())
            return date(year, month, day)
    return (
        date.fromisoformat(text[:10])
        if len(text) > 10 and text[10] in "T "
        else date.fromisoformat(text)
    )


def parse_month(text: str) -> date:
    for pattern in (_MONTH, _JP_MONTH):
        match = pattern.match(text)
        if match:
            year, month = (int(g) for g in match.groups())
            return date(year, month, 1)
    return parse_date(text).replace(day=1)


def parse_datetime(text: str) -> datetime:
    if "T" not in text and " " not in text:
        return datetime.combine(parse_date(text), datetime.min.time())
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=None) if parsed.tzinfo is None else parsed


def parse_bool(text: str) -> bool:
    word = text.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def parse_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    return value


def parse_int(text: str) -> int:
    value = parse_decimal(text)
    if value != value.to_integral_value():
        raise ValueError(f"not a whole number: {text!r}")
    return int(value)


PARSERS: dict[str, Callable[[str], Any]] = {
    "str": lambda text: text,
    "int": parse_int,
    "decimal": parse_decimal,
    "date": parse_date,
    "datetime": parse_datetime,
    "bool": parse_bool,
    "month": parse_month,
}


def decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM), else Shift_JIS (cp932, as Japanese Excel writes it)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp932")


def parse_rows(
    name: str, text: str, columns: Sequence[Column]
) -> tuple[dict[str, list[Any]], list[int]]:
    """Validate ``text`` against ``columns``; returns column-wise values and source line numbers."""
    reader = csv.reader(io.StringIO(text))
    problems: list[str] = []
    try:
        header = [normalise_cell(cell) for cell in next(reader)]
    except StopIteration:
        raise InputError([f"{name}:1: the file is empty (a header line is required)"]) from None
    positions = {column: index for index, column in enumerate(header)}
    for column in columns:
        if column.required and column.name not in positions:
            problems.append(f"{name}:1: missing column '{column.name}'")
    if problems:
        raise InputError(problems)
    values: dict[str, list[Any]] = {column.name: [] for column in columns}
    line_numbers: list[int] = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        line_numbers.append(line)
        for column in columns:
            index = positions.get(column.name)
            cell = normalise_cell(row[index]) if index is not None and index < len(row) else ""
            values[column.name].append(_parse_cell(name, line, column, cell, problems))
        if len(problems) > MAX_REPORTED_PROBLEMS:
            problems.append(f"{name}:{line}: too many problems; stopped reading here")
            raise InputError(problems)
    if problems:
        raise InputError(problems)
    return values, line_numbers


def _parse_cell(name: str, line: int, column: Column, cell: str, problems: list[str]) -> Any:
    if cell == "":
        if column.nullable or column.default is not None or not column.required:
            return column.default
        problems.append(f"{name}:{line}: '{column.name}' is empty")
        return None
    if column.choices is not None:
        normalised = cell.lower()
        if normalised not in column.choices:
            allowed = ", ".join(column.choices)
            problems.append(
                f"{name}:{line}: '{column.name}' must be one of {allowed}, got {cell!r}"
            )
            return None
        return normalised
    try:
        value = PARSERS[column.kind](cell)
    except ValueError as error:
        message = (
            str(error)
            if column.kind in {"bool", "decimal", "int"}
            else f"bad {column.kind} {cell!r}"
        )
        problems.append(f"{name}:{line}: '{column.name}': {message}")
        return None
    if column.min_value is not None and value < column.min_value:
        problems.append(f"{name}:{line}: '{column.name}' must be ≥ {column.min_value}, got {cell}")
        return None
    return value


def to_arrow(values: dict[str, list[Any]], columns: Iterable[Column]) -> pa.Table:
    arrays = {
        column.name: pa.array(values[column.name], type=ARROW_TYPES[column.kind])
        for column in columns
    }
    return pa.table(arrays)


def read_csv_table(path: Path, columns: Sequence[Column]) -> pa.Table:
    """Read and validate one CSV file into an Arrow table typed by ``columns``."""
    text = decode(path.read_bytes())
    values, _ = parse_rows(path.name, text, columns)
    return to_arrow(values, columns)
