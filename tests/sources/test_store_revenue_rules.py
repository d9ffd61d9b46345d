"""The store-wide revenue rules (``KIZUNA_REVENUE_RULES``): read and checked at start-up, used
by the store recompute, and a change of them makes the revenue results stale."""

import io
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from kizuna.billing.models import (
    CustomerMrr,
    Invoice,
    InvoiceStatus,
    PeriodKind,
    Product,
    ProductKind,
    RevenueKpi,
    Subscription,
    SubscriptionItem,
)
from kizuna.core.config import ConfigError, load_config
from kizuna.core.revenue_rules import RevenueRules
from kizuna.crm.models import Account
from kizuna.sources.models import ComputeRun
from kizuna.sources.store_revenue import recompute_revenue


def test_rules_file_is_read_at_start_up(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('discounts = "ignore"\nreactivation_window_months = 3\ngross_margin = 0.8\n')
    config = load_config({"KIZUNA_DATA_DIR": str(tmp_path), "KIZUNA_REVENUE_RULES": str(rules)})
    assert config.revenue_rules == RevenueRules(
        discounts="ignore", reactivation_window_months=3, gross_margin=Decimal("0.8")
    )
    assert load_config({"KIZUNA_DATA_DIR": str(tmp_path)}).revenue_rules == RevenueRules()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            'churn_at = "whenever"\n',
            "churn_at must be end_of_service or cancellation_request, not 'whenever'",
        ),
        ("past_due_churn_days = 2.5\n", "past_due_churn_days must be a whole number, got 2.5"),
        ("colour = 1\ntrials_carry_mrr = 1\n", "unknown setting 'colour'; "),
        ("discounts = \n", "not valid TOML"),
        (None, "cannot read (No such file or directory)"),
    ],
)
def test_bad_rules_stop_with_one_line_naming_the_variable_and_field(
    tmp_path: Path, content: str | None, message: str
) -> None:
    rules = tmp_path / "rules.toml"
    if content is not None:
        rules.write_text(content)
    with pytest.raises(ConfigError) as raised:
        load_config({"KIZUNA_DATA_DIR": str(tmp_path), "KIZUNA_REVENUE_RULES": str(rules)})
    text = str(raised.value)
    assert text.startswith(f"KIZUNA_REVENUE_RULES: {rules}: ")
    assert message in text
    assert "\n" not in text


def _discounted_customer() -> Account:
    """10,000 a month less 20 % from January 2024."""
    core = Product.objects.create(code="core", name="Core", kind=ProductKind.PLAN)
    account = Account.objects.create(name="A", created_at=timezone.now())
    subscription = Subscription.objects.create(account=account, started_on=date(2024, 1, 1))
    SubscriptionItem.objects.create(
        subscription=subscription,
        product=core,
        quantity=Decimal(1),
        unit_price=Decimal(10000),
        discount_percent=Decimal(20),
        interval="month",
        start_date=date(2024, 1, 1),
        end_date=date(2024, 3, 1),
    )
    return account


def _recompute_if_stale() -> str:
    out = io.StringIO()
    call_command("recompute", "revenue", "--if-stale", "--as-of", "2024-03-31", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_recompute_uses_the_store_wide_rules_and_a_change_recomputes_history(
    settings: Any,
) -> None:
    account = _discounted_customer()
    assert "recomputing" in _recompute_if_stale()
    assert CustomerMrr.objects.get(account=account, month=date(2024, 1, 1)).mrr == Decimal(8000)
    assert _recompute_if_stale() == "revenue: up to date\n"

    settings.KIZUNA_REVENUE_RULES = RevenueRules(discounts="ignore")
    assert "recomputing" in _recompute_if_stale()
    history = {
        row.month: (row.mrr, row.movement, row.delta)
        for row in CustomerMrr.objects.filter(account=account)
    }
    assert history == {
        date(2024, 1, 1): (Decimal(10000), "new", Decimal(10000)),
        date(2024, 2, 1): (Decimal(10000), "none", Decimal(0)),
        date(2024, 3, 1): (Decimal(0), "churned", Decimal(-10000)),
    }
    january = RevenueKpi.objects.get(period_kind=PeriodKind.MONTH, period_start=date(2024, 1, 1))
    assert Decimal(january.values["mrr"]) == 10000
    assert _recompute_if_stale() == "revenue: up to date\n"
    assert ComputeRun.objects.filter(subject="revenue").count() == 2

    settings.KIZUNA_REVENUE_RULES = RevenueRules()
    assert "recomputing" in _recompute_if_stale()
    assert CustomerMrr.objects.get(account=account, month=date(2024, 1, 1)).mrr == Decimal(8000)


@pytest.mark.django_db
def test_past_due_rule_withholds_mrr_from_the_stores_unpaid_invoices() -> None:
    account = _discounted_customer()
    Invoice.objects.create(
        account=account,
        issued_on=date(2024, 1, 25),
        due_on=date(2024, 2, 1),
        amount=Decimal(8000),
        tax=Decimal(0),
        currency="JPY",
        status=InvoiceStatus.OPEN,
    )

    def history() -> dict[date, tuple[Decimal, str, Decimal]]:
        return {
            row.month: (row.mrr, row.movement, row.delta)
            for row in CustomerMrr.objects.filter(account=account)
        }

    recompute_revenue(RevenueRules())
    assert history() == {
        date(2024, 1, 1): (Decimal(8000), "new", Decimal(8000)),
        date(2024, 2, 1): (Decimal(8000), "none", Decimal(0)),
        date(2024, 3, 1): (Decimal(0), "churned", Decimal(-8000)),
    }
    # Due 1 February, unpaid a week later: no MRR at the end of February.
    recompute_revenue(RevenueRules(past_due_churn_days=7))
    assert history() == {
        date(2024, 1, 1): (Decimal(8000), "new", Decimal(8000)),
        date(2024, 2, 1): (Decimal(0), "churned", Decimal(-8000)),
    }
