"""``kizuna import-stripe``: customers, products, prices, subscriptions and invoices from Stripe."""

from __future__ import annotations

import os
from typing import Any

import stripe
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext

from kizuna.ingest.stripe_import import OBJECT_TYPES, import_stripe, parse_since, stripe_client


class Command(BaseCommand):
    help = gettext(
        "Import customers, products, prices, subscriptions and invoices from Stripe; each run "
        "reads only what was created since the previous one (docs/import-format.md, Stripe)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--api-key-env",
            default="STRIPE_API_KEY",
            help=gettext("environment variable holding the Stripe secret or restricted key"),
        )
        parser.add_argument(
            "--since",
            default=None,
            help=gettext(
                "read objects created after this moment (Unix seconds or ISO date) instead of "
                "after the previous run; 0 reads everything again"
            ),
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help=gettext("import what can be imported and list the objects left out"),
        )
        parser.add_argument(
            "--api-base",
            default=None,
            help=gettext("address of the Stripe API (default: Stripe's own)"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        api_key = os.environ.get(options["api_key_env"], "")
        if not api_key:
            raise CommandError(
                gettext("set the environment variable %(name)s to a Stripe API key")
                % {"name": options["api_key_env"]}
            )
        try:
            since = None if options["since"] is None else parse_since(options["since"])
        except ValueError:
            raise CommandError(
                gettext("--since must be Unix seconds or an ISO date, got '%(value)s'")
                % {"value": options["since"]}
            ) from None
        try:
            report = import_stripe(
                stripe_client(api_key, options["api_base"]),
                since=since,
                skip_invalid=options["skip_invalid"],
            )
        except stripe.StripeError as error:
            raise CommandError(
                gettext("Stripe refused the request: %(error)s")
                % {"error": error.user_message or str(error)}
            ) from None
        for problem in report.problems:
            self.stderr.write(problem)
        for note in report.notes:
            self.stdout.write(note)
        for object_type in OBJECT_TYPES:
            self.stdout.write(report.counts[object_type].summary())
        if not report.committed:
            raise CommandError(
                gettext(
                    "%(count)d objects cannot be imported; nothing was imported (use "
                    "--skip-invalid to import the others)"
                )
                % {"count": len(report.problems)}
            )
