"""``kizuna renewals``: the daily pipeline job — renewal deals and lifecycle stages."""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import gettext as _

from kizuna.pipeline.lifecycle import advance_lifecycle
from kizuna.pipeline.renewals import create_renewal_deals


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ArgumentTypeError(
            _("expected a date as YYYY-MM-DD, got %(text)r") % {"text": text}
        ) from None


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override]
        return _(
            "Open renewal deals 90 days before committed terms end (once per term), move them "
            "through the 60/30-day stages, and apply the lifecycle stage rules."
        )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--as-of",
            type=_day,
            default=None,
            metavar="YYYY-MM-DD",
            help=_("run as on this day (default: today)"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        as_of: date = options["as_of"] or timezone.localdate()
        run = create_renewal_deals(as_of)
        changes = advance_lifecycle(as_of)
        self.stdout.write(
            _(
                "%(created)d renewal deals opened, %(moved)d moved, %(refused)d waiting for "
                "fields; %(lifecycle)d lifecycle stage changes."
            )
            % {
                "created": len(run.created),
                "moved": len(run.moved),
                "refused": len(run.refused),
                "lifecycle": len(changes),
            }
        )
        for deal, missing in run.refused:
            self.stdout.write(f"  {deal.pk} {deal.title}: {', '.join(missing)}")
