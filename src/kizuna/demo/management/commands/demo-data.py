"""``kizuna demo-data``: build the realistic demo company and load it (or write it as CSV)."""

from __future__ import annotations

import time
from argparse import ArgumentParser, ArgumentTypeError
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from kizuna.crm.models import Account
from kizuna.demo.company import ADMIN_USERNAME, DEMO_PASSWORD
from kizuna.demo.csv_out import write_csv_folder
from kizuna.demo.generate import (
    DEFAULT_ACCOUNTS,
    DEFAULT_MONTHS,
    DEFAULT_SEED,
    DEFAULT_USAGE_DAYS,
    DemoOptions,
    generate,
)
from kizuna.demo.load import load_tables
from kizuna.demo.staff import ensure_staff


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ArgumentTypeError(_("must be at least 1, got %(value)s") % {"value": text})
    return value


class Command(BaseCommand):
    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # Translated here, not at import, so the help follows the active language.
        self.help = _(
            "Build a realistic, deterministic demo SaaS company (customers, subscriptions, "
            "usage, tickets, NPS, deals) and load it into the store, or write it as a CSV folder."
        )
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--accounts",
            type=_positive,
            default=DEFAULT_ACCOUNTS,
            help=_("number of accounts (default %(default)s)"),
        )
        parser.add_argument(
            "--months",
            type=_positive,
            default=DEFAULT_MONTHS,
            help=_("months of history (default %(default)s)"),
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=_("random seed; the same seed gives the same data"),
        )
        parser.add_argument(
            "--usage-days",
            type=_positive,
            default=DEFAULT_USAGE_DAYS,
            help=_("days of daily usage per account (default %(default)s)"),
        )
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            default=None,
            help=_("last simulated day, YYYY-MM-DD (default: today)"),
        )
        parser.add_argument(
            "--csv", type=Path, default=None, metavar="DIR", help=_("write the CSV folder to DIR")
        )
        parser.add_argument(
            "--csv-only",
            action="store_true",
            help=_("with --csv: only write the CSV folder, leave the store alone"),
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help=_("do nothing when the store already holds accounts"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        load = not options["csv_only"]
        if options["csv_only"] and options["csv"] is None:
            raise CommandError(_("--csv-only needs --csv DIR"))
        if load and Account.objects.exists():
            if options["if_empty"]:
                ensure_staff()
                self.stdout.write(_("The store already holds accounts; keeping them."))
                self.login_hint()
                return
            raise CommandError(
                _(
                    "The store already holds accounts: use --if-empty to keep them, "
                    "or start from an empty database."
                )
            )
        demo = DemoOptions(
            accounts=options["accounts"],
            months=options["months"],
            seed=options["seed"],
            usage_days=options["usage_days"],
            as_of=options["as_of"],
        )
        started = time.perf_counter()
        tables = generate(demo)
        generated = time.perf_counter()
        self.stdout.write(
            _("Generated %(accounts)s accounts × %(months)s months in %(seconds).1f s.")
            % {"accounts": demo.accounts, "months": demo.months, "seconds": generated - started}
        )
        if options["csv"] is not None:
            write_csv_folder(tables, options["csv"])
            self.stdout.write(_("Wrote the CSV folder %(folder)s.") % {"folder": options["csv"]})
        if load:
            loading = time.perf_counter()
            users = ensure_staff()
            counts = load_tables(tables, demo.timeline().as_of, users)
            summary = ", ".join(f"{name} {count:,}" for name, count in counts.items())
            self.stdout.write(
                _("Loaded into the store in %(seconds).1f s: %(summary)s.")
                % {"seconds": time.perf_counter() - loading, "summary": summary}
            )
            self.login_hint()

    def login_hint(self) -> None:
        self.stdout.write(
            _("Demo login: user '%(user)s', password '%(password)s'.")
            % {"user": ADMIN_USERNAME, "password": DEMO_PASSWORD}
        )
