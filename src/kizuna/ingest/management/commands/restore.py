"""``kizuna restore FILE [--replace]``: bring back a backup written by ``kizuna dump``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext

from kizuna.ingest.backup import BackupError, restore_store


class Command(BaseCommand):
    help = gettext(
        "Restore a backup written by 'kizuna dump' into an empty store (run 'kizuna migrate' "
        "first). The store is left unchanged if anything goes wrong."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help=gettext("backup file to read"))
        parser.add_argument(
            "--replace",
            action="store_true",
            help=gettext("delete everything the store holds and replace it with the backup"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(gettext("%(file)s does not exist") % {"file": path})
        started = time.monotonic()
        try:
            summary = restore_store(path, replace=options["replace"])
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            gettext("%(rows)d rows of %(tables)d tables restored in %(seconds).1f s")
            % {
                "rows": summary.rows,
                "tables": len(summary.counts),
                "seconds": time.monotonic() - started,
            }
        )
