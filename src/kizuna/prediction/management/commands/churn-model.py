"""``kizuna churn-model``: evaluate the churn model on a time-based holdout.

kizuna churn-model evaluate [--input DIR] [--horizon-days 90] [--test-months 6]
                            [--cutoff YYYY-MM-DD] [--format json|text]
kizuna churn-model recompute [--as-of YYYY-MM-DD]

Without ``--input`` the store is evaluated.
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
from kizuna.engine.churn_evaluation import DEFAULT_TEST_MONTHS, evaluate
from kizuna.engine.churn_model import ChurnModelError
from kizuna.engine.health_inputs import HealthInputs
from kizuna.health.scorecards import load_preset
from kizuna.prediction.output import report_to_dict, report_to_text
from kizuna.prediction.store import horizon_days, recompute_churn
from kizuna.sources.csv_reader import InputError
from kizuna.sources.csv_usage import health_inputs_from_folder
from kizuna.sources.store_health import health_inputs_from_store

# The rule health scores the model is compared with (SPEC H1's two presets).
COMPARED_PRESETS = ("A", "B")


class Command(BaseCommand):
    help = _("Evaluate the churn model on a time-based holdout, or recompute its predictions.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "action",
            nargs="?",
            default="evaluate",
            choices=["evaluate", "recompute"],
            help=_("evaluate (default) or recompute (train and predict over the store)"),
        )
        parser.add_argument(
            "--input", type=Path, help=_("folder of CSV files (default: the store)")
        )
        parser.add_argument(
            "--horizon-days",
            type=int,
            help=_("churn within this many days (default: the setting, 90)"),
        )
        parser.add_argument(
            "--test-months",
            type=int,
            default=DEFAULT_TEST_MONTHS,
            help=_("evaluate: monthly snapshots held out for testing"),
        )
        parser.add_argument(
            "--cutoff",
            type=date.fromisoformat,
            help=_("evaluate: first test snapshot, YYYY-MM-DD (instead of --test-months)"),
        )
        parser.add_argument("--format", choices=["json", "text"], default="json")
        parser.add_argument("--engine", default="duckdb", help=_("engine backend"))
        parser.add_argument(
            "--as-of", type=date.fromisoformat, help=_("recompute: as-of date (default: today)")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        horizon = options["horizon_days"] if options["horizon_days"] is not None else horizon_days()
        if horizon < 1:
            raise CommandError(_("--horizon-days must be at least 1"))
        if options["action"] == "recompute":
            self.recompute(options["as_of"] or timezone.localdate(), horizon)
            return
        backend = connect(options["engine"])
        inputs = self.inputs(options["input"], backend)
        scorecards = {name: load_preset(name) for name in COMPARED_PRESETS}
        try:
            report = evaluate(
                inputs,
                backend,
                horizon_days=horizon,
                test_months=options["test_months"],
                cutoff=options["cutoff"],
                scorecards=scorecards,
            )
        except (ChurnModelError, ValueError) as error:
            raise CommandError(str(error)) from None
        if options["format"] == "text":
            self.stdout.write(report_to_text(report), ending="")
        else:
            self.stdout.write(json.dumps(report_to_dict(report), indent=2, ensure_ascii=False))

    def inputs(self, folder: Path | None, backend: Any) -> HealthInputs:
        if folder is None:
            return health_inputs_from_store(backend)
        try:
            return health_inputs_from_folder(folder)
        except InputError as error:
            raise CommandError(str(error)) from None

    def recompute(self, as_of: date, horizon: int) -> None:
        started = time.perf_counter()
        outcome = recompute_churn(as_of, horizon)
        if outcome.model is None:
            raise CommandError(
                _("no churn model trained: %(reason)s") % {"reason": outcome.skipped}
            )
        self.stdout.write(
            _("%(rows)s churn predictions (model #%(model)s) in %(seconds).1f s")
            % {
                "rows": outcome.predictions,
                "model": outcome.model.pk,
                "seconds": time.perf_counter() - started,
            }
        )
