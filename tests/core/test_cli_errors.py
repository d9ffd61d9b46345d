"""Bad configuration stops the ``kizuna`` command with one line that says what to fix."""

import os
import subprocess
import sys
from pathlib import Path


def run_kizuna(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "KIZUNA_DATA_DIR": str(tmp_path), **env}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "kizuna.cli", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_unknown_currency(tmp_path: Path) -> None:
    result = run_kizuna(tmp_path, "check", KIZUNA_CURRENCY="ABC")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "kizuna: configuration error: KIZUNA_CURRENCY: unknown currency 'ABC': "
        "use an ISO 4217 code such as JPY or USD"
    ]


def test_unreachable_database(tmp_path: Path) -> None:
    result = run_kizuna(
        tmp_path,
        "migrate",
        KIZUNA_DATABASE_URL="postgresql://nobody@127.0.0.1:1/nothing",
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("kizuna: cannot use the database (")
    assert "check KIZUNA_DATABASE_URL" in lines[0]
