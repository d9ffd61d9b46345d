"""``kizuna export DIR``: the store as a CSV folder in the import format, plus revenue results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from kizuna.ingest.export import export_folder


class Command(BaseCommand):
    help = "Export every object (and the revenue results) as CSV files in the import format."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        counts = export_folder(options["folder"])
        for name, rows in counts.items():
            self.stdout.write(_("%(file)s: %(rows)s rows") % {"file": name, "rows": f"{rows:,}"})
