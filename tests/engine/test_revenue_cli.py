"""`kizuna metrics`: the JSON/CSV contract, the KPI worked example, and bad-input errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kizuna.billing.management.commands.metrics import MetricsOptions, run_metrics
from kizuna.engine.revenue_kpis import KPIS

SUBSCRIPTIONS = """\
customer_id,subscription_id,product,plan,quantity,unit_price,currency,interval,start_date,end_date
A,a1,core,Pro,1,10000,JPY,month,2024-01-01,2024-02-01
A,a2,core,Pro,1,15000,JPY,month,2024-02-01,
B,b1,core,Starter,1,5000,JPY,month,2024-01-01,2024-02-01
C,c1,core,Pro,1,8000,JPY,month,2024-01-01,2024-02-01
C,c2,core,Pro,1,6000,JPY,month,2024-02-01,
D,d1,core,Starter,1,4000,JPY,month,2024-02-01,
"""
CUSTOMERS = """\
customer_id,name,country,industry,employees,channel,owner,created_at
A,Acme,JP,saas,100,events,sato,2023-12-01
B,Beta,JP,retail,20,events,sato,2023-12-01
C,Cora,JP,saas,50,events,ito,2023-12-01
D,Dash,JP,saas,10,ads,ito,2024-01-20
"""
SPEND = """\
month,channel,amount,currency
2024-02,ads,12000,JPY
"""


def write_folder(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def run(options: MetricsOptions) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = run_metrics(options, out, err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture()
def portfolio(tmp_path: Path) -> Path:
    return write_folder(
        tmp_path / "in", subscriptions=SUBSCRIPTIONS, customers=CUSTOMERS, spend=SPEND
    )


def test_json_contract_and_kpi_worked_example(portfolio: Path) -> None:
    status, out, err = run(MetricsOptions(input=portfolio, detail=True))
    assert (status, err) == (0, "")
    report = json.loads(out)
    assert report["currency"] == "JPY"
    assert [month["month"] for month in report["months"]] == ["2024-01", "2024-02"]
    february = report["months"][1]
    assert set(KPIS) <= set(february)
    # Worked example (docs/metrics.md): A expands 10,000 → 15,000, B churns (5,000), C
    # contracts 8,000 → 6,000, D is new (4,000, from the ads channel, which spent 12,000).
    assert {name: february[name] for name in list(KPIS)} == {
        "mrr": 25000,
        "arr": 300000,
        "customers": 3,
        "new_mrr": 4000,
        "expansion_mrr": 5000,
        "contraction_mrr": 2000,
        "churned_mrr": 5000,
        "reactivation_mrr": 0,
        "fx_mrr": 0,
        "net_new_mrr": 2000,
        "new_customers": 1,
        "churned_customers": 1,
        "reactivated_customers": 0,
        "arpa": 8333,
        "logo_churn_rate": 0.333333,
        "gross_mrr_churn_rate": 0.304348,
        "nrr": 0.913043,
        "grr": 0.695652,
        "expansion_rate": 0.217391,
        "quick_ratio": 1.285714,
        "nrr_12m": None,
        "grr_12m": None,
        "ltv": 25000,
        "cac": 12000,
        "ltv_cac": 2.083333,
        "payback_months": 3.0,
    }
    assert february["cac_by_channel"] == {"ads": 12000}
    january = report["months"][0]
    assert (january["mrr"], january["new_customers"], january["arpa"]) == (23000, 3, 7667)
    assert january["logo_churn_rate"] is None  # no customers the month before
    quarter = report["quarters"][0]
    assert (quarter["quarter"], quarter["mrr"], quarter["new_mrr"], quarter["churned_mrr"]) == (
        "2024-Q1",
        25000,
        27000,
        5000,
    )
    assert report["years"][0]["year"] == "2024"
    assert report["cohorts"] == [
        _cohort("2024-01", "2024-01", 0, 3, 23000, 1.0, 1.0),
        _cohort("2024-01", "2024-02", 1, 2, 21000, 0.666667, 0.913043),
        _cohort("2024-02", "2024-02", 0, 1, 4000, 1.0, 1.0),
    ]
    assert [row for row in report["customers"] if row["customer_id"] == "B"] == [
        {
            "customer_id": "B",
            "month": "2024-01",
            "mrr": 5000,
            "movement": "new",
            "delta": 5000,
            "fx": 0,
        },
        {
            "customer_id": "B",
            "month": "2024-02",
            "mrr": 0,
            "movement": "churned",
            "delta": -5000,
            "fx": 0,
        },
    ]


def _cohort(
    cohort: str, month: str, since: int, customers: int, mrr: int, logo: float, money: float
) -> dict[str, Any]:
    return {
        "cohort": cohort,
        "month": month,
        "months_since_start": since,
        "customers": customers,
        "mrr": mrr,
        "logo_retention": logo,
        "mrr_retention": money,
    }


def test_month_range_and_csv_format(portfolio: Path) -> None:
    status, out, _ = run(
        MetricsOptions(input=portfolio, since="2023-12", until="2024-03", format="csv")
    )
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == ",".join(["month", *KPIS])
    assert [line.split(",")[0] for line in lines[1:]] == [
        "2023-12",
        "2024-01",
        "2024-02",
        "2024-03",
    ]
    assert lines[1].startswith("2023-12,0,0,0,")


def test_usd_reporting_currency_money_has_cents(tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path / "usd",
        subscriptions="customer_id,subscription_id,product,unit_price,currency,interval,start_date\n"
        "A,a1,core,10,USD,week,2024-01-01\n",
    )
    status, out, _ = run(MetricsOptions(input=folder, currency="usd"))
    assert status == 0
    month = json.loads(out)["months"][0]
    assert (month["mrr"], month["arr"]) == (43.33, 520.0)


def test_out_file_is_written_whole_and_not_touched_on_error(
    portfolio: Path, tmp_path: Path
) -> None:
    target = tmp_path / "metrics.json"
    assert run(MetricsOptions(input=portfolio, out=target))[0] == 0
    written = target.read_text(encoding="utf-8")
    assert json.loads(written)["months"][0]["month"] == "2024-01"
    broken = write_folder(tmp_path / "broken", subscriptions="customer_id\nA\n")
    status, out, _ = run(MetricsOptions(input=broken, out=target))
    assert status == 1 and out == ""
    assert target.read_text(encoding="utf-8") == written
    assert [path.name for path in tmp_path.iterdir() if path.is_file()] == ["metrics.json"]


HEADER = "customer_id,subscription_id,product,quantity,unit_price,currency,interval,start_date\n"


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            "A,a1,core,-1,100,JPY,month,2024-01-01\n",
            ["subscriptions.csv:2: 'quantity' must be ≥ 0, got -1"],
        ),
        (
            "A,a1,core,1,100,JPY,month,2024-13-01\n",
            ["subscriptions.csv:2: 'start_date': bad date '2024-13-01'"],
        ),
        (
            "A,a1,core,1,100,JPY,month,2024-01-01\nA,a2,core,1,100,JPY,fortnight,2024-01-01\n",
            [
                "subscriptions.csv:3: 'interval' must be one of day, week, month, quarter, "
                "year, got 'fortnight'"
            ],
        ),
        (
            "A,a1,core,1,100,XYZ,month,2024-01-01\n",
            ["subscriptions.csv:2: unknown currency 'XYZ' (not an ISO 4217 code)"],
        ),
    ],
)
def test_bad_rows_are_reported_with_file_and_line(
    tmp_path: Path, rows: str, expected: list[str]
) -> None:
    folder = write_folder(tmp_path / "bad", subscriptions=HEADER + rows)
    status, out, err = run(MetricsOptions(input=folder))
    assert (status, out) == (1, "")
    assert err.splitlines() == expected


def test_missing_column_and_missing_rate(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "nocol", subscriptions="customer_id,product\nA,core\n")
    status, _, err = run(MetricsOptions(input=folder))
    assert status == 1
    assert err.splitlines()[:2] == [
        "subscriptions.csv:1: missing column 'subscription_id'",
        "subscriptions.csv:1: missing column 'unit_price'",
    ]
    folder = write_folder(
        tmp_path / "norate",
        subscriptions=HEADER + "A,a1,core,1,100,USD,month,2024-01-01\n",
        fx_rates="date,currency,rate\n2024-03-01,USD,150\n",
    )
    status, _, err = run(MetricsOptions(input=folder))
    assert (status, err) == (1, "fx_rates: no USD rate on or before 2024-01-31\n")


def test_kizuna_metrics_command_end_to_end(portfolio: Path, tmp_path: Path) -> None:
    """The installed ``kizuna`` entry point, as other tools call it."""
    command = [sys.executable, "-c", "from kizuna.cli import main; main()", "metrics"]
    done = subprocess.run(
        [*command, "--input", str(portfolio), "--to", "2024-02"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["months"][-1]["mrr"] == 25000
    bad = write_folder(
        tmp_path / "bad", subscriptions=HEADER + "A,a1,core,-1,1,JPY,month,2024-01-01\n"
    )
    done = subprocess.run(
        [*command, "--input", str(bad)], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert done.returncode == 1
    assert done.stderr == "subscriptions.csv:2: 'quantity' must be ≥ 0, got -1\n"
