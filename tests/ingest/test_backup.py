"""``kizuna dump`` → fresh store → ``kizuna restore``: every row back, identical engine results."""

from __future__ import annotations

import gzip
from datetime import date, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from kizuna.api.models import ApiToken
from kizuna.api.tokens import create_token
from kizuna.billing.models import CustomerMrr, Invoice, RevenueKpi
from kizuna.crm.models import Account, Task
from kizuna.ingest.backup import BackupError, backup_models, dump_store, restore_store
from kizuna.sources.recompute import run_subject

AS_OF = date(2025, 3, 31)
DEMO = ("--accounts", "40", "--months", "12", "--usage-days", "30", "--seed", "3")


def every_row() -> dict[str, list[dict[str, Any]]]:
    """All rows of every table, read through the ORM (independently of the backup code)."""
    return {
        model._meta.label_lower: list(model._base_manager.order_by("pk").values())
        for model in backup_models()
    }


def engine_results() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    customers = list(
        CustomerMrr.objects.order_by("account_id", "month").values_list(
            "account_id", "month", "mrr", "movement", "delta", "fx"
        )
    )
    kpis = list(
        RevenueKpi.objects.order_by("period_kind", "period_start").values_list(
            "period_kind", "period_start", "values"
        )
    )
    return customers, kpis


def load_demo_store() -> None:
    call_command("demo-data", *DEMO, "--as-of", AS_OF.isoformat(), stdout=StringIO())
    user = User.objects.get(username="demo")
    create_token(user, "integration")
    Task.objects.create(title="Call back", account=Account.objects.first(), assignee=user)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_dump_then_restore_into_a_fresh_store_is_exact(tmp_path: Path) -> None:
    load_demo_store()
    # A setup fee on one invoice: the recurring/one-off split survives the round trip.
    first = Invoice.objects.order_by("pk")[0]
    Invoice.objects.filter(pk=first.pk).update(
        amount=first.amount + Decimal("30000.5"), one_off_amount=Decimal("30000.5")
    )
    run_subject("revenue", AS_OF)
    before_rows = every_row()
    before_results = engine_results()
    assert len(before_results[0]) > 200 and len(before_results[1]) > 40
    backup = tmp_path / "store.jsonl.gz"
    call_command("dump", str(backup), stdout=StringIO())

    call_command("flush", interactive=False, verbosity=0)  # a store as fresh as after migrate
    assert Account.objects.count() == 0
    out = StringIO()
    call_command("restore", str(backup), stdout=out)

    after_rows = every_row()
    assert {label: len(rows) for label, rows in after_rows.items()} == {
        label: len(rows) for label, rows in before_rows.items()
    }
    assert after_rows == before_rows
    assert Invoice.objects.get(pk=first.pk).one_off_amount == Decimal("30000.5")
    token = ApiToken.objects.get(name="integration")
    assert token.created_at == before_rows["api.apitoken"][0]["created_at"]
    task_created = Task.objects.get(title="Call back").created_at
    assert isinstance(task_created, datetime) and task_created.microsecond != 0

    # The engines read the restored store and write the very same results.
    CustomerMrr.objects.all().delete()
    RevenueKpi.objects.all().delete()
    run_subject("revenue", AS_OF)
    assert engine_results() == before_results


@pytest.mark.django_db
def test_restore_refuses_a_store_with_data_and_replaces_it_when_asked(tmp_path: Path) -> None:
    load_demo_store()
    backup = tmp_path / "store.jsonl"
    dump_store(backup)
    before = every_row()
    Account.objects.filter(pk=Account.objects.order_by("pk")[0].pk).update(name="Changed")
    User.objects.create_user("intruder")

    with pytest.raises(CommandError, match="already holds data"):
        call_command("restore", str(backup), stdout=StringIO())
    assert User.objects.filter(username="intruder").exists()

    call_command("restore", str(backup), "--replace", stdout=StringIO())
    assert every_row() == before


@pytest.mark.django_db
def test_a_cut_off_backup_restores_nothing(tmp_path: Path) -> None:
    load_demo_store()
    backup = tmp_path / "store.jsonl"
    dump_store(backup)
    before = every_row()
    lines = backup.read_text(encoding="utf-8").splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl.gz"
    with gzip.open(cut, "wt", encoding="utf-8") as handle:
        handle.writelines(lines[: len(lines) // 2])

    with pytest.raises(BackupError, match="incomplete"):
        restore_store(cut, replace=True)
    assert every_row() == before


@pytest.mark.django_db
def test_restore_refuses_a_file_that_is_not_a_backup_or_of_another_schema(
    tmp_path: Path,
) -> None:
    other = tmp_path / "other.jsonl"
    other.write_text('{"model": "crm.account"}\n', encoding="utf-8")
    with pytest.raises(BackupError, match="not a Kizuna backup"):
        restore_store(other)
    old = tmp_path / "old.jsonl"
    old.write_text(
        '{"format": "kizuna-backup", "version": 1, "migrations": {"crm": ["0001_initial"]}}\n',
        encoding="utf-8",
    )
    with pytest.raises(BackupError, match="another schema version"):
        restore_store(old)
