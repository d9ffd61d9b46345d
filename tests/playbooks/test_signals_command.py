"""``kizuna signals`` over a CSV folder."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text.strip() + "\n", encoding="utf-8")


@pytest.fixture
def csv_folder(tmp_path: Path) -> Path:
    _write(
        tmp_path,
        "subscriptions.csv",
        """
customer_id,subscription_id,product,plan,quantity,unit_price,currency,interval,start_date
c1,s1,core,Professional,10,10000,JPY,month,2023-01-01
c2,s2,core,Starter,5,3000,JPY,year,2023-08-15
""",
    )
    _write(
        tmp_path,
        "nps.csv",
        """
response_id,customer_id,responded_on,score
r1,c1,2024-01-10,9
r2,c1,2024-06-10,5
""",
    )
    return tmp_path


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("signals", *args, stdout=out)
    return out.getvalue()


def test_signals_json(csv_folder: Path) -> None:
    output = _run("--input", str(csv_folder), "--as-of", "2024-06-30", "--format", "json")
    assert json.loads(output) == [
        {
            "customer_id": "c1",
            "signal": "nps_drop",
            "level": "medium",
            "occurrence": "r2",
            "occurred_on": "2024-06-10",
            "detail": {
                "score": 5,
                "previous_score": 9,
                "response_id": "r2",
                "previous_response_id": "r1",
            },
        },
        {
            "customer_id": "c2",
            "signal": "renewal_due",
            "level": "medium",
            "occurrence": "2024-08-15:60d",
            "occurred_on": "2024-06-16",
            "detail": {"renewal_on": "2024-08-15", "days_left": 46, "window_days": 60},
        },
        {
            "customer_id": "c2",
            "signal": "renewal_upsell",
            "level": "medium",
            "occurrence": "2024-08-15",
            "occurred_on": "2024-06-16",
            "detail": {"renewal_on": "2024-08-15", "days_left": 46, "health": None},
        },
    ]


def test_signals_csv_with_a_signal_filter(csv_folder: Path) -> None:
    output = _run(
        "--input",
        str(csv_folder),
        "--as-of",
        "2024-06-30",
        "--format",
        "csv",
        "--signal",
        "nps_drop",
    )
    assert output == (
        "customer_id,signal,level,occurrence,occurred_on,detail\n"
        'c1,nps_drop,medium,r2,2024-06-10,"{""score"":5,""previous_score"":9,'
        '""response_id"":""r2"",""previous_response_id"":""r1""}"\n'
    )


def test_signals_reports_bad_rows_as_file_and_line(csv_folder: Path) -> None:
    _write(
        csv_folder,
        "nps.csv",
        """
response_id,customer_id,responded_on,score
r1,c1,2024-01-10,11
""",
    )
    with pytest.raises(CommandError, match=r"nps.csv:2: 'score' must be between 0 and 10"):
        _run("--input", str(csv_folder), "--as-of", "2024-06-30")


def test_signals_needs_some_input(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="none of the files"):
        _run("--input", str(tmp_path), "--as-of", "2024-06-30")
