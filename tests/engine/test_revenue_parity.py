"""The same input gives identical results on DuckDB, PostgreSQL and PySpark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ibis.backends import BaseBackend

from kizuna.engine.backends import connect
from kizuna.engine.revenue_pipeline import compute_revenue
from kizuna.engine.revenue_report import build_report, render_json, report_range
from kizuna.sources.csv_revenue import read_revenue_folder

# Every feature at once: intervals, interval counts, seats, discounts, trials (converted,
# lapsed, pending), one-off charges, add-ons, churn and reactivation, three currencies with
# changing rates, cancellation dates, spend per channel.
SUBSCRIPTIONS = """\
customer_id,subscription_id,product,plan,quantity,unit_price,currency,interval,interval_count,discount_percent,discount_amount,start_date,end_date,trial_end_date,recurring,canceled_at
acme,a1,core,Pro,12,1500,JPY,month,,10,,2023-11-15,2024-03-05,,,
acme,a2,core,Pro,15,1500,JPY,month,,10,,2024-03-05,,,,
acme,a3,analytics,,1,99.99,USD,month,,,5,2024-02-01,2024-09-01,,,
acme,a4,onboarding,,1,250000,JPY,month,,,,2023-11-15,2023-12-15,,false,
beta,b1,core,Starter,1,480,EUR,year,,,,2023-12-01,2024-06-01,,,2024-01-20
beta,b2,core,Starter,1,40,EUR,month,,,,2024-09-10,,,,
cora,c1,core,Enterprise,1,2400,USD,quarter,2,,,2024-01-10,,2024-02-10,,
dash,d1,core,Starter,3,250,USD,week,,,,2024-02-01,2024-02-29,2024-02-29,,
echo,e1,core,Free,1,0,JPY,month,,,,2023-12-01,,,,
fox,f1,core,Pro,1,70000,JPY,year,,,,2024-10-20,,2024-11-20,,
"""
FX_RATES = """\
date,currency,rate
2023-10-01,USD,149.5
2023-10-01,EUR,158.25
2024-01-15,USD,145.123456
2024-03-31,EUR,163
2024-05-02,USD,156.75
2024-08-30,USD,146.5
2024-10-01,EUR,160.5
"""
CUSTOMERS = """\
customer_id,name,country,industry,employees,channel,owner,created_at
acme,Acme,JP,saas,120,events,sato,2023-10-01
beta,Beta,DE,retail,15,ads,ito,2023-11-01
cora,Cora,US,saas,900,ads,ito,2024-01-05
dash,Dash,US,media,8,organic,sato,2024-01-25
echo,Echo,JP,saas,3,organic,ito,2023-11-20
fox,Fox,JP,saas,40,ads,sato,2024-10-01
"""
SPEND = """\
month,channel,amount,currency
2023-11,events,300000,JPY
2023-12,ads,1000,USD
2024-02,ads,2500.50,USD
2024-10,ads,150000,JPY
"""


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("parity")
    for name, text in (
        ("subscriptions", SUBSCRIPTIONS),
        ("fx_rates", FX_RATES),
        ("customers", CUSTOMERS),
        ("spend", SPEND),
    ):
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def results_on(backend: BaseBackend, folder: Path) -> tuple[str, list[dict[str, Any]]]:
    """The full JSON report (with customer detail) and the per-product movements."""
    result = compute_revenue(backend, read_revenue_folder(folder), currency="JPY")
    report = render_json(build_report(result, report_range(result), detail=True))
    products = result.product_movements.order_by(["customer_id", "product", "month_idx"])
    return report, list(backend.to_pyarrow(products).to_pylist())


@pytest.fixture(scope="module")
def duckdb_results(demo_folder: Path) -> tuple[str, list[dict[str, Any]]]:
    return results_on(connect("duckdb"), demo_folder)


def test_demo_data_sanity(duckdb_results: tuple[str, list[dict[str, Any]]]) -> None:
    import json

    report = json.loads(duckdb_results[0])
    months = [month["month"] for month in report["months"]]
    assert months[0] == "2023-11" and months[-1] == "2024-11"
    movements = {row["movement"] for row in report["customers"]}
    assert movements == {"new", "expansion", "contraction", "churned", "reactivation", "none"}
    assert any(month["fx_mrr"] != 0 for month in report["months"])


@pytest.mark.postgres
def test_postgres_matches_duckdb(
    postgres_url: str, demo_folder: Path, duckdb_results: tuple[str, list[dict[str, Any]]]
) -> None:
    assert results_on(connect("postgres", url=postgres_url), demo_folder) == duckdb_results


@pytest.mark.spark
def test_pyspark_matches_duckdb(
    spark_backend: BaseBackend, demo_folder: Path, duckdb_results: tuple[str, list[dict[str, Any]]]
) -> None:
    assert results_on(spark_backend, demo_folder) == duckdb_results
