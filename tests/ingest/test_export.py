"""`kizuna export DIR` writes the store in the import format; engines read it back unchanged."""

from __future__ import annotations

import csv
import json
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from kizuna.billing.models import Invoice, PeriodKind, RevenueKpi
from kizuna.crm.models import Account
from kizuna.ingest.csv_import import import_folder
from kizuna.ingest.export import EXPORT_FILES
from kizuna.sources.recompute import run_subject
from kizuna.usage.models import SuccessGoal


@pytest.mark.django_db
def test_export_round_trips_through_the_revenue_engine(tmp_path: Path) -> None:
    call_command(
        "demo-data",
        "--accounts",
        "40",
        "--months",
        "12",
        "--usage-days",
        "20",
        "--seed",
        "3",
        "--as-of",
        "2025-03-31",
        stdout=StringIO(),
    )
    run_subject("revenue", date(2025, 3, 31))
    out = StringIO()
    call_command("export", str(tmp_path / "export"), stdout=out)

    folder = tmp_path / "export"
    written = sorted(str(path.relative_to(folder)) for path in folder.rglob("*.csv"))
    assert written == sorted(spec.name for spec in EXPORT_FILES)
    assert "customers.csv: 40 rows" in out.getvalue()

    report = tmp_path / "metrics.json"
    call_command("metrics", "--input", str(folder), "--format", "json", "--out", str(report))
    from_folder = {row["month"]: row["mrr"] for row in json.loads(report.read_text())["months"]}
    in_store = {
        f"{row.period_start:%Y-%m}": int(row.values["mrr"])
        for row in RevenueKpi.objects.filter(period_kind=PeriodKind.MONTH)
    }
    assert from_folder == in_store
    with (folder / "results" / "revenue_kpis.csv").open() as handle:
        exported = {row["month"][:7]: int(row["mrr"]) for row in csv.DictReader(handle)}
    assert exported == in_store


@pytest.mark.django_db
def test_invoices_export_their_one_off_part(tmp_path: Path) -> None:
    import_folder(Path(__file__).parent / "data" / "good")
    call_command("export", str(tmp_path / "export"), stdout=StringIO())
    with (tmp_path / "export" / "invoices.csv").open(encoding="utf-8-sig") as handle:
        rows = {row["invoice_id"]: row for row in csv.DictReader(handle)}
    first = Invoice.objects.get(external_id="I1")
    assert (rows[str(first.pk)]["amount"], rows[str(first.pk)]["one_off_amount"]) == (
        "196200.000000",
        "150000.000000",
    )


@pytest.mark.django_db
def test_success_goals_export_in_the_import_format(tmp_path: Path) -> None:
    import_folder(Path(__file__).parent / "data" / "good")
    account = Account.objects.get(external_id="C001")
    reached = SuccessGoal.objects.create(
        account=account,
        goal="Close the books in 3 days",
        set_on=date(2024, 4, 1),
        achieved_on=date(2024, 6, 28),
    )
    SuccessGoal.objects.create(account=account, goal="Paperless invoices")
    call_command("export", str(tmp_path / "export"), stdout=StringIO())
    with (tmp_path / "export" / "success_goals.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [
        {
            "goal_id": str(reached.pk),
            "customer_id": str(account.pk),
            "goal": "Close the books in 3 days",
            "target": "",
            "set_on": "2024-04-01",
            "achieved_on": "2024-06-28",
        },
        {
            "goal_id": str(reached.pk + 1),
            "customer_id": str(account.pk),
            "goal": "Paperless invoices",
            "target": "",
            "set_on": "",
            "achieved_on": "",
        },
    ]
