"""``kizuna signals``: churn signals and expansion triggers detected from a CSV folder.

kizuna signals --input DIR --as-of YYYY-MM-DD [--format json|csv] [--signal NAME …]
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from kizuna.engine.backends import connect
from kizuna.engine.signals import SIGNAL_DETECTORS, SignalInputs, detect_signals
from kizuna.sources.csv_reader import InputError
from kizuna.sources.csv_usage import read_signal_folder

OUTPUT_COLUMNS = ("customer_id", "signal", "level", "occurrence", "occurred_on", "detail")


class Command(BaseCommand):
    help = _("Detect churn signals and expansion triggers from a folder of CSV files.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", type=Path, required=True, help=_("folder of CSV files"))
        parser.add_argument(
            "--as-of", type=date.fromisoformat, required=True, help=_("date, YYYY-MM-DD")
        )
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument(
            "--signal",
            action="append",
            choices=sorted(SIGNAL_DETECTORS),
            help=_("only this signal (repeatable); all by default"),
        )
        parser.add_argument("--engine", default="duckdb", help=_("engine backend"))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tables = read_signal_folder(options["input"])
        except InputError as error:
            raise CommandError(str(error)) from None
        if not tables:
            raise CommandError(
                _("%(folder)s holds none of the files signals are detected from")
                % {"folder": options["input"]}
            )
        inputs = SignalInputs.from_arrow(tables)
        rows = detect_signals(
            inputs, options["as_of"], names=options["signal"], backend=connect(options["engine"])
        )
        if options["format"] == "csv":
            self.stdout.write(signals_to_csv(rows), ending="")
        else:
            self.stdout.write(json.dumps(signals_to_dicts(rows), indent=2, ensure_ascii=False))


def signals_to_dicts(rows: pa.Table) -> list[dict[str, Any]]:
    """JSON-ready rows; ``detail`` becomes a nested object."""
    return [
        {
            "customer_id": row["customer_id"],
            "signal": row["signal"],
            "level": row["level"],
            "occurrence": row["occurrence"],
            "occurred_on": row["occurred_on"].isoformat(),
            "detail": json.loads(row["detail"]),
        }
        for row in rows.to_pylist()
    ]


def signals_to_csv(rows: pa.Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(OUTPUT_COLUMNS)
    for row in rows.to_pylist():
        writer.writerow(
            [
                row["occurred_on"].isoformat() if name == "occurred_on" else row[name]
                for name in OUTPUT_COLUMNS
            ]
        )
    return buffer.getvalue()
