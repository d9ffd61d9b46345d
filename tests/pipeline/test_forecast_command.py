import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from kizuna.engine.pipeline import FORECAST_METRICS

DATA = Path(__file__).parent / "data" / "small"


def run(*args: str) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command("forecast", "--input", str(DATA), "--as-of", "2024-06-30", *args, stdout=out)
    return out.getvalue()


def test_json_holds_every_metric_with_money_rounded_to_the_currency() -> None:
    document = json.loads(run("--format", "json"))
    assert document["as_of"] == "2024-06-30"
    assert list(document["metrics"]) == list(FORECAST_METRICS)
    assert document["metrics"]["lead_source_roi"][0] == {
        "channel": "ads",
        "currency": "JPY",
        "deals": 4,
        "won": 2,
        "won_customers": 2,
        "new_mrr": "105000",
        "spend": "250001",
        "conversion_rate": 0.5,
        # 125,000.5 yen, rounded half up to whole yen (JPY has no minor unit)
        "cac": "125001",
    }
    assert document["metrics"]["weighted_pipeline"][1] == {
        "pipeline": "new_business",
        "stage": "proposal",
        "position": 5,
        "probability": "0.5500",
        "owner": "alice",
        "close_month": "2024-07-01",
        "currency": "JPY",
        "deals": 2,
        "amount_mrr": "150000",
        "weighted_mrr": "82500",
        "one_off_amount": "0",
        "weighted_one_off": "0",
    }


def test_metric_option_selects_metrics() -> None:
    document = json.loads(run("--metric", "win_rate", "--metric", "lost_reasons"))
    assert list(document["metrics"]) == ["win_rate", "lost_reasons"]


def test_csv_output_of_one_metric_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "win_rate.csv"
    assert run("--format", "csv", "--metric", "win_rate", "--out", str(out)) == ""
    assert out.read_text(encoding="utf-8") == (
        "pipeline,currency,won,lost,won_mrr,lost_mrr,win_rate\n"
        "new_business,JPY,3,1,205000,50000,0.75\n"
        "renewal,JPY,0,1,0,30000,0.0\n"
    )


def test_csv_output_needs_exactly_one_metric() -> None:
    with pytest.raises(CommandError, match="CSV output holds one table"):
        run("--format", "csv")


def test_bad_input_lists_problems_with_line_numbers(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").write_text(
        "deal_id,customer_id,pipeline,stage,status,amount_mrr,currency,owner,created_on,"
        "close_date,closed_on\n"
        "D1,C1,new_business,lost,lost,1000,JPY,bob,2024-04-01,2024-05-01,2024-05-02\n"
        "D2,C2,new_business,lead,open,1000,JPY,bob,2024-04-01,2024-05-01,\n",
        encoding="utf-8",
    )
    out, err = StringIO(), StringIO()
    with translation.override("en"), pytest.raises(SystemExit) as exit_:
        call_command(
            "forecast", "--input", str(tmp_path), "--as-of", "2024-06-30", stdout=out, stderr=err
        )
    assert exit_.value.code == 1
    assert out.getvalue() == ""
    assert err.getvalue() == (
        "deals.csv:2: stage 'lost' requires lost_reason\n"
        "deals.csv:3: stage 'lead' requires source, first_contact_on\n"
    )


def test_kizuna_command_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "forecast.json"
    completed = subprocess.run(
        [
            str(Path(sys.executable).parent / "kizuna"),
            "forecast",
            "--input",
            str(DATA),
            "--as-of",
            "2024-06-30",
            "--metric",
            "rep_performance",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "KIZUNA_LANGUAGE": "en"},
    )
    assert (completed.returncode, completed.stdout, completed.stderr) == (0, "", "")
    assert json.loads(out.read_text(encoding="utf-8")) == {
        "as_of": "2024-06-30",
        "metrics": {
            "rep_performance": [
                {
                    "owner": "alice",
                    "pipeline": "new_business",
                    "motion": "new",
                    "close_month": "2024-03-01",
                    "currency": "JPY",
                    "won_deals": 1,
                    "won_mrr": "45000",
                    "won_one_off": "0",
                },
                {
                    "owner": "alice",
                    "pipeline": "new_business",
                    "motion": "new",
                    "close_month": "2024-05-01",
                    "currency": "JPY",
                    "won_deals": 1,
                    "won_mrr": "100000",
                    "won_one_off": "0",
                },
                {
                    "owner": "bob",
                    "pipeline": "new_business",
                    "motion": "new",
                    "close_month": "2024-06-01",
                    "currency": "JPY",
                    "won_deals": 1,
                    "won_mrr": "60000",
                    "won_one_off": "0",
                },
            ]
        },
    }


def test_missing_input_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with translation.override("en"), pytest.raises(CommandError) as error:
        call_command("forecast", "--input", str(missing), "--as-of", "2024-06-30")
    assert str(error.value) == f"input folder not found: {missing}"
