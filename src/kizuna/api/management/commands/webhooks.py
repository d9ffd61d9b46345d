"""``kizuna webhooks deliver``: send the webhook deliveries that are due."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext

from kizuna.api.webhooks import deliver_due


class Command(BaseCommand):
    help = gettext("Outgoing webhooks. 'deliver' sends what is due (run it every minute).")

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("deliver", help=gettext("send the deliveries that are due"))

    def handle(self, *args: Any, **options: Any) -> None:
        run = deliver_due()
        self.stdout.write(
            gettext("%(delivered)d delivered, %(retrying)d to retry, %(failed)d failed")
            % {"delivered": run.delivered, "retrying": run.retrying, "failed": run.failed}
        )
