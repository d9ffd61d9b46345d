"""``kizuna forecast``: the pipeline forecast and sales analytics from a folder of CSV files."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from argparse import ArgumentParser, ArgumentTypeError
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from ibis.backends import BaseBackend

from kizuna.core.money import round_money
from kizuna.engine.backends import ENGINES, connect
from kizuna.engine.pipeline import FORECAST_METRICS, MONEY, ForecastInputs
from kizuna.pipeline.defaults import DEFAULT_PIPELINES, stages_table
from kizuna.sources.csv_deals import read_pipeline_files
from kizuna.sources.csv_reader import InputError, parse_date

# The engine casts every money result to MONEY; those columns are rounded to the row's
# currency minor unit on output (JPY 0 places, USD 2), and everything else is left exact.
MONEY_ARROW_TYPE = pa.decimal128(MONEY.precision or 38, MONEY.scale or 6)
FORMATS = ("json", "csv")
ENGINE_URL_VARIABLE = "KIZUNA_ENGINE_URL"


def _as_of(text: str) -> date:
    try:
        return parse_date(text)
    except ValueError:
        raise ArgumentTypeError(
            _("expected a date as YYYY-MM-DD, got %(text)r") % {"text": text}
        ) from None


def compute_forecast(
    folder: Path, as_of: date, metrics: Sequence[str], engine: str = "duckdb"
) -> dict[str, pa.Table]:
    """Read ``folder``, run ``metrics`` as of ``as_of`` and return each result table."""
    files = read_pipeline_files(folder, DEFAULT_PIPELINES)
    inputs = ForecastInputs(
        deals=ibis.memtable(files.deals),
        stage_history=ibis.memtable(files.stage_history),
        stages=ibis.memtable(stages_table(DEFAULT_PIPELINES.values())),
        spend=ibis.memtable(files.spend),
        as_of=as_of,
    )
    backend = _backend(engine)
    return {name: backend.to_pyarrow(FORECAST_METRICS[name](inputs)) for name in metrics}


def _backend(engine: str) -> BaseBackend:
    if engine != "postgres":
        return connect(engine)
    url = os.environ.get(ENGINE_URL_VARIABLE)
    if not url:
        raise InputError(
            [
                _("--engine postgres needs the database URL in %(name)s")
                % {"name": ENGINE_URL_VARIABLE}
            ]
        )
    return connect("postgres", url=url)


def _cell(value: Any, column_type: pa.DataType, currency: str | None) -> Any:
    if isinstance(value, Decimal):
        if column_type == MONEY_ARROW_TYPE and currency is not None:
            value = round_money(value, currency)
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, date):
        return value.isoformat()
    return value


def table_rows(table: pa.Table) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: decimals as exact strings, money rounded to its currency."""
    types = {field.name: field.type for field in table.schema}
    return [
        {name: _cell(value, types[name], row.get("currency")) for name, value in row.items()}
        for row in table.to_pylist()
    ]


def render_json(as_of: date, results: dict[str, pa.Table]) -> str:
    document = {
        "as_of": as_of.isoformat(),
        "metrics": {name: table_rows(table) for name, table in results.items()},
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def render_csv(table: pa.Table) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=table.column_names, lineterminator="\n")
    writer.writeheader()
    for row in table_rows(table):
        writer.writerow({name: "" if value is None else value for name, value in row.items()})
    return buffer.getvalue()


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override]
        # A property, not a lazy string: argparse formats the description as plain text.
        return _(
            "Weighted pipeline, forecast vs actual, conversion, deal cycle, trial conversion, "
            "rep performance, lead-source ROI, win rate and lost reasons from a folder of CSV "
            "files."
        )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--input",
            required=True,
            type=Path,
            metavar="DIR",
            help=_("folder with deals.csv and optionally deal_stage_history.csv and spend.csv"),
        )
        parser.add_argument(
            "--as-of",
            type=_as_of,
            default=None,
            metavar="YYYY-MM-DD",
            help=_("compute as known at the end of this day (default: today)"),
        )
        parser.add_argument("--format", choices=FORMATS, default="json", help=_("output format"))
        parser.add_argument(
            "--out",
            type=Path,
            default=None,
            metavar="FILE",
            help=_("write to this file instead of standard output"),
        )
        parser.add_argument(
            "--metric",
            action="append",
            choices=sorted(FORECAST_METRICS),
            dest="metrics",
            help=_("only this metric (repeatable; default: all; CSV output needs exactly one)"),
        )
        parser.add_argument(
            "--engine",
            choices=sorted(ENGINES),
            default="duckdb",
            help=_("engine backend that runs the computation"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        folder: Path = options["input"]
        if not folder.is_dir():
            raise CommandError(_("input folder not found: %(folder)s") % {"folder": folder})
        as_of: date = options["as_of"] or timezone.localdate()
        metrics: list[str] = options["metrics"] or list(FORECAST_METRICS)
        if options["format"] == "csv" and len(metrics) != 1:
            raise CommandError(
                _("CSV output holds one table: choose it with --metric (one of %(names)s)")
                % {"names": ", ".join(FORECAST_METRICS)}
            )
        try:
            results = compute_forecast(folder, as_of, metrics, options["engine"])
        except InputError as error:
            # Same contract as the other engine commands: one problem per line, exit status 1.
            self.stderr.write("".join(f"{problem}\n" for problem in error.problems), ending="")
            raise SystemExit(1) from None
        if options["format"] == "json":
            text = render_json(as_of, results)
        else:
            text = render_csv(results[metrics[0]])
        out: Path | None = options["out"]
        if out is None:
            self.stdout.write(text, ending="")
        else:
            out.write_text(text, encoding="utf-8")
