"""``kizuna dump FILE``: the whole store in one file (``.gz`` compresses it)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext

from kizuna.ingest.backup import dump_store


class Command(BaseCommand):
    help = gettext(
        "Write a full backup of the store (every table, users and tokens included) to FILE; "
        "'kizuna restore FILE' brings it back exactly."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", type=Path, help=gettext("backup file to write (ending in .gz compresses it)")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        summary = dump_store(options["file"])
        self.stdout.write(
            gettext("%(rows)d rows of %(tables)d tables written to %(file)s in %(seconds).1f s")
            % {
                "rows": summary.rows,
                "tables": len(summary.counts),
                "file": options["file"],
                "seconds": time.monotonic() - started,
            }
        )
