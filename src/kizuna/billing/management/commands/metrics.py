"""``kizuna metrics``: revenue KPIs, cohorts and (optionally) per-customer movements from a
folder of CSV files, computed by the revenue engine on DuckDB, PostgreSQL or Spark.

Contract (other tools depend on it)::

    kizuna metrics --input DIR [--currency JPY] [--from YYYY-MM] [--to YYYY-MM]
                   [--engine duckdb|postgres|pyspark] [--detail] [--format json|csv]
                   [--out FILE] [--rules FILE]

``--rules`` names a TOML file of :class:`~kizuna.core.revenue_rules.RevenueRules` settings;
without it the store-wide rules of ``KIZUNA_REVENUE_RULES`` apply (the defaults unless set).

Bad input exits with status 1 and one ``file:line: message`` per problem on stderr; ``--out``
is written whole or not at all.
"""

from __future__ import annotations

import os
import tempfile
from argparse import ArgumentParser
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.management.base import BaseCommand

from kizuna.core.revenue_rules import RevenueRules, RulesError, read_rules_file
from kizuna.engine.backends import connect
from kizuna.engine.revenue import RevenueInputError, month_index, month_of_index
from kizuna.engine.revenue_pipeline import compute_revenue
from kizuna.engine.revenue_report import build_report, render_csv, render_json, report_range
from kizuna.sources.csv_reader import InputError, parse_month
from kizuna.sources.csv_revenue import read_revenue_folder

ENGINE_URL_VARIABLE = "KIZUNA_ENGINE_URL"


@dataclass(frozen=True)
class MetricsOptions:
    input: Path
    currency: str = "JPY"
    since: str | None = None
    until: str | None = None
    engine: str = "duckdb"
    detail: bool = False
    format: str = "json"
    out: Path | None = None
    rules: Path | None = None


def run_metrics(options: MetricsOptions, stdout: IO[str], stderr: IO[str]) -> int:
    """Runs the command; returns the exit status (problems are written to ``stderr``)."""
    try:
        text = _metrics_text(options)
    except (InputError, RevenueInputError, RulesError) as error:
        stderr.write("".join(f"{problem}\n" for problem in error.problems))
        return 1
    if options.out is None:
        stdout.write(text)
    else:
        _write_atomically(options.out, text)
    return 0


def _metrics_text(options: MetricsOptions) -> str:
    since = _month_option("--from", options.since)
    until = _month_option("--to", options.until)
    if since is not None and until is not None and since > until:
        raise InputError([f"--from {options.since} is after --to {options.until}"])
    rules = _rules(options.rules)
    inputs = read_revenue_folder(options.input)
    backend = _backend(options.engine)
    result = compute_revenue(
        backend,
        inputs,
        currency=options.currency.upper(),
        rules=rules,
        since=None if since is None else month_of_index(since),
        through=None if until is None else month_of_index(until),
    )
    report = build_report(result, report_range(result, since, until), detail=options.detail)
    if options.format == "csv":
        return render_csv(report, detail=options.detail)
    return render_json(report)


def _month_option(flag: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return month_index(parse_month(text))
    except ValueError:
        raise InputError([f"{flag}: expected a month as YYYY-MM, got {text!r}"]) from None


def _rules(path: Path | None) -> RevenueRules:
    """The rules of ``--rules FILE``; without it, the store-wide ones (``KIZUNA_REVENUE_RULES``),
    which are the defaults unless set."""
    if path is None:
        return settings.KIZUNA_REVENUE_RULES
    return read_rules_file(path)


def _backend(engine: str) -> Any:
    if engine == "postgres":
        url = os.environ.get(ENGINE_URL_VARIABLE)
        if not url:
            raise InputError([f"--engine postgres needs the database URL in {ENGINE_URL_VARIABLE}"])
        return connect("postgres", url=url)
    return connect(engine)


def _write_atomically(path: Path, text: str) -> None:
    """Write next to ``path`` and rename over it, so a reader never sees half a file."""
    directory = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Command(BaseCommand):
    help = "Revenue KPIs (MRR, movements, churn, NRR/GRR, LTV, CAC, …) and cohorts from CSV files."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--input", required=True, type=Path, help="folder of CSV files")
        parser.add_argument("--currency", default="JPY", help="reporting currency (ISO 4217)")
        parser.add_argument("--from", dest="since", metavar="YYYY-MM", help="first month")
        parser.add_argument("--to", dest="until", metavar="YYYY-MM", help="last month")
        parser.add_argument("--engine", choices=["duckdb", "postgres", "pyspark"], default="duckdb")
        parser.add_argument("--detail", action="store_true", help="add per-customer rows")
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument("--out", type=Path, help="write to FILE instead of stdout")
        parser.add_argument(
            "--rules", type=Path, metavar="FILE", help="TOML file of revenue rules (settings)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        status = run_metrics(
            MetricsOptions(
                input=options["input"],
                currency=options["currency"],
                since=options["since"],
                until=options["until"],
                engine=options["engine"],
                detail=options["detail"],
                format=options["format"],
                out=options["out"],
                rules=options["rules"],
            ),
            self.stdout,  # type: ignore[arg-type]  # OutputWrapper is a TextIOBase proxy
            self.stderr,  # type: ignore[arg-type]
        )
        if status:
            raise SystemExit(status)
