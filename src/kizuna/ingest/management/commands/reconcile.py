"""``kizuna reconcile [--format text|json|csv] [--as-of DATE]``: billing vs CRM disagreements."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from django.utils.translation import gettext

from kizuna.crm.models import Account
from kizuna.ingest.reconcile import reconcile

CSV_COLUMNS = (
    "kind",
    "customer_id",
    "account",
    "subscription",
    "crm_value",
    "billing_value",
    "message",
)


class Command(BaseCommand):
    help = gettext(
        "List where billing data and CRM contract data disagree: plan, renewal date, MRR and "
        "missing invoices."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--format", choices=("text", "json", "csv"), default="text", help=gettext("output")
        )
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            default=None,
            help=gettext("the day to check (default: today)"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = options["as_of"] or timezone.localdate()
        found = reconcile(Account.objects.all(), as_of)
        if options["format"] == "json":
            self.stdout.write(
                json.dumps([asdict(item) for item in found], ensure_ascii=False, indent=2)
            )
        elif options["format"] == "csv":
            writer = csv.DictWriter(self.stdout, fieldnames=CSV_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for item in found:
                writer.writerow(asdict(item))
        else:
            for item in found:
                self.stdout.write(
                    f"{item.kind_label}\t{item.customer_id}\t{item.account}\t{item.subscription}"
                    f"\t{item.crm_value}\t{item.billing_value}\t{item.message}"
                )
            self.stdout.write(
                gettext("%(count)d disagreements on %(day)s")
                % {"count": len(found), "day": as_of.isoformat()}
            )
