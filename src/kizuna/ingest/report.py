"""What an import did: rows created, updated and unchanged per file, and every problem found.

A problem is always tied to a file and a line (the header is line 1, as in the reader), and is
shown as ``file:line: message``. Rejected rows can be written back out as CSV files with their
messages, so a user can fix them and import just those rows again.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext

# Columns added to a rejected-rows file; importers ignore unknown columns, so a fixed file can
# be imported as it is.
LINE_COLUMN = "import_line"
PROBLEMS_COLUMN = "import_problems"


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class FileReport:
    """The outcome of one file: counts of what was written and the problems of its rows."""

    name: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    raw_rows: dict[int, list[str]] = field(default_factory=dict)
    """Cells of each rejected row as read, by line, for the rejected-rows file."""

    @property
    def rejected_lines(self) -> list[int]:
        return sorted({problem.line for problem in self.problems})

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.name, line, message))

    def summary(self) -> str:
        return gettext(
            "%(file)s: %(rows)d rows, %(created)d created, %(updated)d updated, "
            "%(unchanged)d unchanged, %(rejected)d rejected"
        ) % {
            "file": self.name,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": len(self.rejected_lines),
        }


@dataclass
class ImportReport:
    files: list[FileReport] = field(default_factory=list)
    committed: bool = False
    """True when the rows were written; false when an all-or-nothing import was rolled back."""

    @property
    def problems(self) -> list[Problem]:
        return [problem for report in self.files for problem in report.problems]

    @property
    def ok(self) -> bool:
        return not self.problems

    def file(self, name: str) -> FileReport:
        for report in self.files:
            if report.name == name:
                return report
        report = FileReport(name)
        self.files.append(report)
        return report


def write_rejected(report: ImportReport, folder: Path) -> list[Path]:
    """Write each file's rejected rows, with their line and messages, to ``folder``.

    UTF-8 with a byte order mark, so spreadsheet programs open Japanese text correctly.
    """
    written: list[Path] = []
    for file_report in report.files:
        lines = file_report.rejected_lines
        if not lines:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / file_report.name
        messages: dict[int, list[str]] = {}
        for problem in file_report.problems:
            messages.setdefault(problem.line, []).append(problem.message)
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([*file_report.header, LINE_COLUMN, PROBLEMS_COLUMN])
            for line in lines:
                cells: Sequence[str] = file_report.raw_rows.get(line, [])
                padded = list(cells) + [""] * (len(file_report.header) - len(cells))
                writer.writerow([*padded, str(line), "; ".join(messages[line])])
        written.append(path)
    return written
