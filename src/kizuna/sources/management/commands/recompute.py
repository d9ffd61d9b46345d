"""``kizuna recompute``: refresh the result tables that pages and the API read."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from kizuna.sources.recompute import RECOMPUTES, is_fresh, run_subject


class Command(BaseCommand):
    help = "Recompute result tables (revenue, health, signals) from the store."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "subjects",
            nargs="*",
            help=f"subjects to recompute (default: all: {', '.join(RECOMPUTES)})",
        )
        parser.add_argument("--as-of", type=date.fromisoformat, help="as-of date (default: today)")
        parser.add_argument(
            "--if-stale", action="store_true", help="skip subjects already recomputed today"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        subjects = options["subjects"] or list(RECOMPUTES)
        unknown = [subject for subject in subjects if subject not in RECOMPUTES]
        if unknown:
            raise CommandError(
                f"unknown subject {', '.join(unknown)}; choose from {', '.join(RECOMPUTES)}"
            )
        as_of = options["as_of"] or timezone.localdate()
        for subject in subjects:
            if options["if_stale"] and is_fresh(subject, as_of):
                self.stdout.write(f"{subject}: up to date")
                continue
            self.stdout.write(f"{subject}: recomputing…")
            run = run_subject(subject, as_of)
            self.stdout.write(f"{subject}: {run.rows_written} rows in {run.message}")
