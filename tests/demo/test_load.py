"""Loading the demo into the store: expected counts, users, pipelines; re-runs change nothing."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError

from kizuna.billing.models import Invoice, SubscriptionItem
from kizuna.crm.models import Account, Contact, Profile
from kizuna.demo.generate import DemoOptions, generate
from kizuna.pipeline.models import Deal, DealStageChange, Pipeline
from kizuna.usage.models import FeatureUsage, NpsResponse, Ticket, UsageDaily

ARGS = (
    "--accounts",
    "60",
    "--months",
    "12",
    "--usage-days",
    "60",
    "--seed",
    "5",
    "--as-of",
    "2025-03-31",
)
OPTIONS = DemoOptions(accounts=60, months=12, seed=5, usage_days=60, as_of=date(2025, 3, 31))


def _counts() -> dict[str, int]:
    models = (
        Account,
        Contact,
        SubscriptionItem,
        Invoice,
        UsageDaily,
        FeatureUsage,
        Ticket,
        NpsResponse,
        Deal,
        DealStageChange,
    )
    return {model.__name__: model.objects.count() for model in models}


@pytest.mark.django_db
def test_demo_data_loads_everything_and_a_rerun_changes_nothing() -> None:
    call_command("demo-data", *ARGS, stdout=StringIO())
    tables = generate(OPTIONS)
    counts = _counts()
    assert counts == {
        "Account": tables.customers.num_rows,
        "Contact": tables.contacts.num_rows,
        "SubscriptionItem": tables.subscriptions.num_rows,
        "Invoice": tables.invoices.num_rows,
        "UsageDaily": tables.usage_daily.num_rows,
        "FeatureUsage": tables.feature_usage.num_rows,
        "Ticket": tables.tickets.num_rows,
        "NpsResponse": tables.nps.num_rows,
        "Deal": tables.deals.num_rows,
        "DealStageChange": tables.deal_stage_history.num_rows,
    }
    assert set(Pipeline.objects.values_list("key", flat=True)) == {
        "new_business",
        "upsell",
        "renewal",
        "services",
    }
    assert Account.objects.filter(status="customer").exists()
    assert Account.objects.filter(status="churned").exists()
    assert not Account.objects.filter(status="customer", cs_owner=None).exists()

    call_command("demo-data", *ARGS, "--if-empty", stdout=StringIO())
    assert _counts() == counts


@pytest.mark.django_db
def test_demo_users_have_roles_teams_and_the_demo_password() -> None:
    call_command("demo-data", *ARGS, stdout=StringIO())
    assert authenticate(username="demo", password="kizuna-demo") is not None
    roles = set(Profile.objects.values_list("role", flat=True))
    assert roles == {"admin", "executive", "sales", "cs_manager", "csm"}
    assert Profile.objects.exclude(role__in=("admin", "executive")).filter(team=None).count() == 0


@pytest.mark.django_db
def test_demo_data_refuses_to_add_to_a_store_that_has_accounts() -> None:
    call_command("demo-data", *ARGS, stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("demo-data", *ARGS, stdout=StringIO())
