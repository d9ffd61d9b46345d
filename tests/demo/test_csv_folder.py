"""The CSV folder the generator writes is read back by the product's own readers."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from kizuna.demo.csv_out import write_csv_folder
from kizuna.demo.tables import DemoTables
from kizuna.sources.csv_deals import read_pipeline_files
from kizuna.sources.csv_usage import read_health_folder

EXPECTED_FILES = {
    "customers",
    "subscriptions",
    "invoices",
    "fx_rates",
    "spend",
    "contacts",
    "usage_daily",
    "features",
    "feature_usage",
    "tickets",
    "nps",
    "activities",
    "churns",
    "deals",
    "deal_stage_history",
    "success_goals",
}


def test_csv_folder_has_every_file_and_reads_back(small_demo: DemoTables, tmp_path: Path) -> None:
    written = write_csv_folder(small_demo, tmp_path)
    assert {path.stem for path in written} == EXPECTED_FILES
    health = read_health_folder(tmp_path)
    assert health["usage_daily"].num_rows == small_demo.usage_daily.num_rows
    assert health["subscriptions"].num_rows == small_demo.subscriptions.num_rows
    assert health["nps"].num_rows == small_demo.nps.num_rows
    pipeline = read_pipeline_files(tmp_path)
    assert pipeline.deals.num_rows == small_demo.deals.num_rows
    assert pipeline.stage_history.num_rows == small_demo.deal_stage_history.num_rows
    assert pipeline.spend.num_rows == small_demo.spend.num_rows


def test_every_pipeline_has_deals_with_history_and_reasons(small_demo: DemoTables) -> None:
    deals = small_demo.deals.to_pylist()
    by_pipeline = {row["pipeline"] for row in deals}
    assert by_pipeline == {"new_business", "upsell", "renewal", "services"}
    assert {row["status"] for row in deals} == {"open", "won", "lost"}
    for row in deals:
        if row["status"] == "lost" and row["pipeline"] != "renewal":
            assert row["lost_reason"], row["deal_id"]
        if row["status"] == "lost" and row["pipeline"] == "renewal":
            assert row["churn_reason"], row["deal_id"]


def test_money_is_exact_decimal_and_some_customers_pay_in_usd(small_demo: DemoTables) -> None:
    for name in ("unit_price", "discount_amount"):
        assert pa.types.is_decimal(small_demo.subscriptions.schema.field(name).type)
    assert pa.types.is_decimal(small_demo.invoices.schema.field("amount").type)
    assert "USD" in set(small_demo.subscriptions.column("currency").to_pylist())
    assert small_demo.fx_rates.num_rows > 0
    statuses = set(small_demo.invoices.column("status").to_pylist())
    assert {"paid", "open"} <= statuses
