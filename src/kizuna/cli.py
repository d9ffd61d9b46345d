"""The ``kizuna`` command: Django's management commands with Kizuna's settings.

Configuration and database problems end with one line that says what to fix, not a traceback.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kizuna.core.settings")
    from django.core.management import execute_from_command_line
    from django.db import OperationalError

    from kizuna.core.config import ConfigError

    try:
        execute_from_command_line(["kizuna", *(sys.argv[1:] if argv is None else argv)])
    except ConfigError as error:
        sys.exit(f"kizuna: configuration error: {error}")
    except OperationalError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        sys.exit(
            f"kizuna: cannot use the database ({first_line}); "
            "check KIZUNA_DATABASE_URL points to a reachable database"
        )


if __name__ == "__main__":
    main()
