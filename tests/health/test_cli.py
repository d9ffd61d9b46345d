"""``kizuna health`` on a tiny CSV folder written here, and the CSV readers' errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from kizuna.sources.csv_reader import InputError
from kizuna.sources.csv_usage import read_health_folder

FILES = {
    "subscriptions.csv": (
        "customer_id,subscription_id,product,plan,quantity,unit_price,currency,interval,start_date\n"
        "acme,s1,crm,Professional,10,5000,JPY,year,2023-12-27\n"
        "beta,s2,crm,Starter,5,3000,JPY,month,2024-01-10\n"
    ),
    "usage_daily.csv": (
        "customer_id,date,logins,active_users,active_users_30d,seats_in_use\n"
        "acme,2024-03-15,3,3,8,10\n"
        "acme,2024-06-30,5,4,8,10\n"
        "beta,2024-06-29,1,1,1,5\n"
    ),
    "nps.csv": ("response_id,customer_id,contact_id,responded_on,score\nr1,acme,c1,2024-06-01,9\n"),
    "tickets.csv": (
        "ticket_id,customer_id,opened_at,type,severity\nt1,beta,2024-06-20T10:00:00,bug,critical\n"
    ),
}


def write_folder(folder: Path, files: dict[str, str] = FILES) -> Path:
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("health", *args, stdout=out)
    return out.getvalue()


def test_json_scores_with_components(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    result = json.loads(run("--input", str(folder), "--as-of", "2024-06-30", "--scorecard", "B"))
    acme, beta = result
    assert acme["customer_id"] == "acme"
    # usage 8 ÷ 10 = 80 % → 100; NPS 9 → 100; no ticket → 100; renewal 2024-12-27 → 6 months
    # → 100; seats in use 10 on 2024-03-15 and now → flat → 50: 0.4×100 + … + 0.1×50 = 95.
    assert (acme["score"], acme["status"], acme["coverage"], acme["missing"]) == (
        95.0,
        "healthy",
        1.0,
        [],
    )
    assert acme["components"][0] == {
        "name": "usage",
        "measure": "active_user_rate",
        "value": 80.0,
        "points": 100.0,
        "weight": 0.4,
        "missing": False,
    }
    # beta: 1 of 5 seats = 20 % → 10; no NPS (left out); critical bug → 20; monthly billing is
    # no committed term → renewal left out; no seats in use 90 days back, so expansion compares
    # contracted seats (5 then and now) → flat → 50.
    assert beta["missing"] == ["nps", "renewal_timing"]
    assert beta["coverage"] == 0.65
    # (0.4 × 10 + 0.15 × 20 + 0.1 × 50) / 0.65 = 18.46… → 18.5
    assert (beta["score"], beta["status"]) == (18.5, "critical")


def test_csv_format(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    lines = run("--input", str(folder), "--as-of", "2024-06-30", "--format", "csv").splitlines()
    assert lines[0].startswith("customer_id,as_of,score,status,coverage,missing,")
    assert lines[1].startswith("acme,2024-06-30,")
    assert len(lines) == 3


def test_bad_row_is_reported_with_file_and_line(tmp_path: Path) -> None:
    files = dict(FILES)
    files["nps.csv"] = FILES["nps.csv"] + "r2,acme,c2,2024-06-02,11\n"
    folder = write_folder(tmp_path, files)
    with pytest.raises(CommandError, match=r"nps\.csv:3: 'score' must be between 0 and 10"):
        run("--input", str(folder), "--as-of", "2024-06-30")


def test_duplicate_usage_day_is_rejected(tmp_path: Path) -> None:
    files = {"usage_daily.csv": FILES["usage_daily.csv"] + "acme,2024-06-30,1,1,,\n"}
    with pytest.raises(InputError) as error:
        read_health_folder(write_folder(tmp_path, files))
    assert error.value.problems == [
        "usage_daily.csv:5: duplicate row for (acme, 2024-06-30), first on line 3"
    ]


def test_as_of_is_required(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--as-of"):
        run("--input", str(write_folder(tmp_path)))
