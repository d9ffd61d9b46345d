"""``kizuna import DIR [--skip-invalid] [--rejected-dir DIR]``: load a folder of CSV files."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext

from kizuna.ingest.csv_import import NothingToImport, import_folder
from kizuna.ingest.report import ImportReport, write_rejected

# Problems printed per file; the rejected-rows file (with --skip-invalid) holds them all.
PRINTED_PROBLEMS = 50
# A progress line per this many rows, and only for files at least this large.
PROGRESS_STEP = 100_000


class Command(BaseCommand):
    help = gettext(
        "Import a folder of CSV files (docs/import-format.md) into the store. By default a "
        "problem in any file imports nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path, help=gettext("folder holding the CSV files"))
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help=gettext("import the valid rows and write the rejected ones to --rejected-dir"),
        )
        parser.add_argument(
            "--rejected-dir",
            type=Path,
            default=None,
            help=gettext("where rejected rows are written (default: FOLDER/rejected)"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        folder: Path = options["folder"]
        started = time.monotonic()
        last_shown: dict[tuple[str, str], int] = {}

        def progress(name: str, phase: str, done: int, total: int) -> None:
            if total < PROGRESS_STEP:
                return
            step = done // PROGRESS_STEP
            if done < total and last_shown.get((name, phase), -1) == step:
                return
            last_shown[(name, phase)] = step
            label = gettext("reading") if phase == "read" else gettext("writing")
            self.stderr.write(
                f"{name}: {label} {done:,}/{total:,} ({time.monotonic() - started:.1f} s)"
            )

        try:
            report = import_folder(folder, skip_invalid=options["skip_invalid"], progress=progress)
        except NothingToImport as error:
            raise CommandError(str(error)) from None
        self._print(report, time.monotonic() - started)
        if options["skip_invalid"] and report.problems:
            rejected_dir = options["rejected_dir"] or folder / "rejected"
            for path in write_rejected(report, rejected_dir):
                self.stdout.write(gettext("rejected rows written to %(path)s") % {"path": path})
        if not report.committed:
            raise CommandError(
                gettext(
                    "%(count)d problems found; nothing was imported (fix them, or use "
                    "--skip-invalid to import the valid rows)"
                )
                % {"count": len(report.problems)}
            )

    def _print(self, report: ImportReport, seconds: float) -> None:
        for file in report.files:
            for problem in file.problems[:PRINTED_PROBLEMS]:
                self.stderr.write(str(problem))
            hidden = len(file.problems) - PRINTED_PROBLEMS
            if hidden > 0:
                self.stderr.write(
                    gettext("%(file)s: … and %(count)d more problems")
                    % {"file": file.name, "count": hidden}
                )
        for file in report.files:
            self.stdout.write(file.summary())
            for note in file.notes:
                self.stdout.write(f"  {note}")
        if report.committed:
            self.stdout.write(gettext("imported in %(seconds).1f s") % {"seconds": seconds})
        sys.stdout.flush()
