"""``kizuna health``: health scores from a CSV folder, and weight calibration.

kizuna health --input DIR --as-of YYYY-MM-DD [--scorecard A|B|simple|FILE] [--format json|csv]
kizuna health calibrate --input DIR [--scorecard …] [--every 30] [--horizon 90]
kizuna health recompute [--as-of YYYY-MM-DD] [--days N]
"""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from kizuna.engine.backends import connect
from kizuna.engine.health import score_accounts
from kizuna.engine.health_calibration import (
    DEFAULT_HORIZON_DAYS,
    calibrate,
    data_period,
    snapshot_dates,
)
from kizuna.health.output import account_to_dict, accounts_to_csv, calibration_to_dict
from kizuna.health.scorecards import ScorecardError, resolve_scorecard
from kizuna.sources.csv_reader import InputError
from kizuna.sources.csv_usage import health_inputs_from_folder
from kizuna.sources.store_health import recompute_health


class Command(BaseCommand):
    help = _("Compute health scores from a folder of CSV files, or calibrate a scorecard.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "action",
            nargs="?",
            default="score",
            choices=["score", "calibrate", "recompute"],
            help=_("score (default), calibrate, or recompute (over the store)"),
        )
        parser.add_argument("--input", type=Path, help=_("folder of CSV files"))
        parser.add_argument("--as-of", type=date.fromisoformat, help=_("score date, YYYY-MM-DD"))
        parser.add_argument(
            "--scorecard", default="A", help=_("preset A, B or simple, or a TOML file")
        )
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument("--engine", default="duckdb", help=_("engine backend"))
        parser.add_argument(
            "--every", type=int, default=30, help=_("calibrate: days between snapshots")
        )
        parser.add_argument(
            "--horizon",
            type=int,
            default=DEFAULT_HORIZON_DAYS,
            help=_("calibrate: churn horizon in days"),
        )
        parser.add_argument(
            "--days",
            type=int,
            help=_(
                "recompute: the number of days of history ending on the as-of date "
                "(default: the days missing since the last run, a year on the first)"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "recompute":
            self.recompute(options["as_of"], options["days"])
            return
        if options["input"] is None:
            raise CommandError(_("--input DIR is required"))
        try:
            scorecard = resolve_scorecard(options["scorecard"])
            inputs = health_inputs_from_folder(options["input"])
        except (ScorecardError, InputError) as error:
            raise CommandError(str(error)) from None
        backend = connect(options["engine"])
        if action == "calibrate":
            first, last = data_period(inputs, backend)
            dates = snapshot_dates(first, last, options["every"], options["horizon"])
            if not dates:
                raise CommandError(_("the data is too short for the churn horizon"))
            report = calibrate(inputs, scorecard, dates, backend, options["horizon"])
            self.stdout.write(json.dumps(calibration_to_dict(report), indent=2, ensure_ascii=False))
            return
        if options["as_of"] is None:
            raise CommandError(_("--as-of YYYY-MM-DD is required"))
        accounts = score_accounts(inputs, scorecard, options["as_of"], backend)
        if options["format"] == "csv":
            self.stdout.write(accounts_to_csv(scorecard, accounts), ending="")
        else:
            payload = [account_to_dict(account) for account in accounts]
            self.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False))

    def recompute(self, as_of: date | None, days: int | None) -> None:
        if days is not None and days < 1:
            raise CommandError(_("--days must be at least 1"))
        day = as_of or timezone.localdate()
        started = time.perf_counter()
        outcome = recompute_health(day, days)
        self.stdout.write(
            _(
                "%(scores)s health scores for %(dates)s days and %(segments)s segments "
                "in %(seconds).1f s"
            )
            % {
                "scores": outcome.scores,
                "dates": outcome.dates,
                "segments": outcome.segments,
                "seconds": time.perf_counter() - started,
            }
        )
