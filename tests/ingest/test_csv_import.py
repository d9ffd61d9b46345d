"""CSV import into the store: exact values, idempotent re-import, every kind of bad row."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from kizuna.billing.models import Invoice, Plan, Product, Subscription, SubscriptionItem
from kizuna.crm.models import Account, Activity, ChurnRecord, Contact
from kizuna.ingest.csv_import import import_folder
from kizuna.ingest.report import write_rejected
from kizuna.pipeline.models import Deal, DealStageChange
from kizuna.usage.models import FeatureUsage, NpsResponse, Ticket, UsageDaily

GOOD = Path(__file__).parent / "data" / "good"

CUSTOMERS = (
    "customer_id,name,country,industry,employees,channel,owner,created_at\n"
    "C1,Alpha,JP,software,10,web,sato,2024-01-01\n"
    "C2,Beta,JP,retail,20,web,sato,2024-01-01\n"
)


def folder_with(tmp_path: Path, **files: str) -> Path:
    for stem, text in files.items():
        (tmp_path / f"{stem}.csv").write_text(text, encoding="utf-8")
    return tmp_path


def store_counts() -> dict[str, int]:
    models = (Account, Contact, Subscription, SubscriptionItem, Invoice, UsageDaily, Deal)
    return {model.__name__: model.objects.count() for model in models}


@pytest.mark.django_db
def test_every_file_imports_with_exact_values() -> None:
    report = import_folder(GOOD)
    assert report.committed, [str(problem) for problem in report.problems]
    alpha = Account.objects.get(external_id="C001")
    assert alpha.name == "株式会社アルファ"
    assert alpha.employees == 120
    assert alpha.owner is not None and alpha.owner.username == "sato"
    assert alpha.cs_owner is not None and alpha.cs_owner.username == "suzuki"
    assert (alpha.touch_tier, alpha.lifecycle_stage) == ("high", "adoption")
    assert Account.objects.get(external_id="C003").cs_owner is None
    assert Contact.objects.get(external_id="P2").status_changed_on == date(2024, 4, 1)
    items = SubscriptionItem.objects.filter(subscription__external_id="S1").order_by("pk")
    assert [(item.product.code, item.quantity, item.unit_price) for item in items] == [
        ("core", Decimal("10"), Decimal("5000")),
        ("storage", Decimal("1"), Decimal("1200")),
        ("onboarding", Decimal("1"), Decimal("150000")),
    ]
    assert items[0].discount_percent == Decimal("10")
    assert items[2].recurring is False
    assert Plan.objects.get(code="core:Professional").tier == "professional"
    assert Product.objects.get(code="onboarding").kind == "service"
    s2 = Subscription.objects.get(external_id="S2")
    assert (s2.currency, s2.ended_on, s2.canceled_at, s2.term_months, s2.status) == (
        "USD",
        date(2024, 3, 1),
        date(2024, 1, 15),
        12,
        "canceled",
    )
    assert SubscriptionItem.objects.get(subscription=s2).unit_price == Decimal("49.90")
    invoice = Invoice.objects.get(external_id="I1")
    assert (invoice.amount, invoice.one_off_amount, invoice.tax, invoice.subscription_id) == (
        Decimal("196200"),
        Decimal("150000"),
        Decimal("19620"),
        Subscription.objects.get(external_id="S1").pk,
    )
    # An empty one_off_amount is the default: the whole invoice is recurring.
    assert Invoice.objects.get(external_id="I2").one_off_amount == Decimal(0)
    day2 = UsageDaily.objects.get(account=alpha, date=date(2024, 5, 2))
    assert (day2.logins, day2.api_calls) == (15, 0)  # full-width digits; default for empty
    assert UsageDaily.objects.get(account__external_id="C002").date == date(2024, 5, 1)
    assert FeatureUsage.objects.filter(account=alpha).count() == 2
    assert Ticket.objects.get(external_id="T1").severity == "critical"
    assert NpsResponse.objects.get(external_id="N1").contact == Contact.objects.get(
        external_id="P1"
    )
    assert Activity.objects.get(external_id="A1").type == "qbr"
    assert ChurnRecord.objects.get().reason == "cost"
    d1 = Deal.objects.get(external_id="D1")
    assert (d1.pipeline.key, d1.stage.key, d1.status, d1.amount_mrr) == (
        "new_business",
        "proposal",
        "open",
        Decimal("80000"),
    )
    assert d1.details == {
        "first_contact_on": "2024-04-01",
        "lead_score": 70,
        "proposed_plan": "Professional",
        "quote_amount": "80000",
    }
    assert d1.trial_start == date(2024, 4, 20)
    history = DealStageChange.objects.filter(deal=d1).order_by("changed_at")
    assert [(c.from_stage and c.from_stage.key, c.to_stage.key) for c in history] == [
        (None, "lead"),
        ("lead", "demo_trial"),
        ("demo_trial", "proposal"),
    ]


@pytest.mark.django_db
def test_importing_the_same_files_again_changes_nothing() -> None:
    import_folder(GOOD)
    before = store_counts()
    deal = Deal.objects.get(external_id="D1")
    report = import_folder(GOOD)
    assert report.committed
    assert [(f.name, f.created, f.updated) for f in report.files if f.created or f.updated] == []
    assert sum(file.unchanged for file in report.files) == sum(file.rows for file in report.files)
    assert store_counts() == before
    assert Deal.objects.get(external_id="D1").pk == deal.pk


@pytest.mark.django_db
def test_a_changed_row_updates_only_that_record(tmp_path: Path) -> None:
    shutil.copytree(GOOD, tmp_path / "in")
    import_folder(tmp_path / "in")
    path = tmp_path / "in" / "customers.csv"
    path.write_text(path.read_text().replace("Beta Inc.", "Beta Corporation"), encoding="utf-8")
    report = import_folder(tmp_path / "in")
    customers = report.file("customers.csv")
    assert (customers.created, customers.updated, customers.unchanged) == (0, 1, 2)
    assert Account.objects.get(external_id="C002").name == "Beta Corporation"


BAD_CASES = {
    "missing column": (
        {"customers": "customer_id,name,country,industry,employees,channel\nC1,A,JP,x,1,web\n"},
        [
            "customers.csv:1: missing column 'owner'",
            "customers.csv:1: missing column 'created_at'",
            "customers.csv:2: not imported: the file cannot be read (see line 1)",
        ],
    ),
    "bad date": (
        {
            "customers": CUSTOMERS,
            "nps": "response_id,customer_id,responded_on,score\nN1,C1,2024-13-01,9\n",
        },
        ["nps.csv:2: 'responded_on': bad date '2024-13-01'"],
    ),
    "bad number": (
        {
            "customers": CUSTOMERS,
            "usage_daily": "customer_id,date,logins,active_users\nC1,2024-05-01,many,3\n",
        },
        ["usage_daily.csv:2: 'logins': not a number: 'many'"],
    ),
    "unknown currency": (
        {"spend": "month,channel,amount,currency\n2024-05,web,1000,XYZ\n"},
        ["spend.csv:2: unknown currency 'XYZ': use an ISO 4217 code such as JPY or USD"],
    ),
    "unknown customer id": (
        {
            "customers": CUSTOMERS,
            "contacts": "contact_id,customer_id,name,role,status\n"
            "P1,C1,Ann,champion,active\nP2,C9,Bob,other,active\n",
        },
        ["contacts.csv:3: unknown customer_id 'C9'"],
    ),
    "duplicate id": (
        {"customers": CUSTOMERS + "C1,Alpha again,JP,software,10,web,sato,2024-01-01\n"},
        ["customers.csv:4: duplicate customer_id 'C1', first on line 2"],
    ),
    "duplicate usage day": (
        {
            "customers": CUSTOMERS,
            "usage_daily": "customer_id,date,logins,active_users\n"
            "C1,2024-05-01,1,1\nC1,2024/05/01,2,1\n",
        },
        ["usage_daily.csv:3: duplicate usage row 'C1, 2024-05-01', first on line 2"],
    ),
    "one-off part above the invoice amount": (
        {
            "customers": CUSTOMERS,
            "invoices": "invoice_id,customer_id,subscription_id,issued_on,due_on,amount,"
            "one_off_amount,currency,status\n"
            "I1,C1,,2024-05-01,,1000,1000,JPY,paid\n"
            "I2,C2,,2024-05-01,,1000,1000.5,JPY,paid\n",
        },
        ["invoices.csv:3: 'one_off_amount' 1000.5 is more than 'amount' 1000"],
    ),
    "value too long for the store": (
        {"customers": CUSTOMERS.replace("JP,software,10", "JPN,software,10", 1)},
        ["customers.csv:2: 'country' must be a two-letter country code, got 'JPN'"],
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(BAD_CASES))
def test_a_bad_row_is_reported_and_nothing_is_imported(tmp_path: Path, case: str) -> None:
    files, expected = BAD_CASES[case]
    before = store_counts()
    report = import_folder(folder_with(tmp_path, **files))
    assert not report.committed
    assert [str(problem) for problem in report.problems] == expected
    assert store_counts() == before


@pytest.mark.django_db
def test_skip_invalid_keeps_good_rows_and_writes_the_rejected_ones(tmp_path: Path) -> None:
    folder = folder_with(
        tmp_path,
        customers=CUSTOMERS,
        contacts="contact_id,customer_id,name,role,status\n"
        "P1,C1,Ann,champion,active\n"
        "P2,C9,Bob,other,active\n"
        "P3,C2,Cy,boss,active\n",
    )
    report = import_folder(folder, skip_invalid=True)
    assert report.committed
    assert list(Contact.objects.values_list("external_id", flat=True)) == ["P1"]
    [path] = write_rejected(report, tmp_path / "rejected")
    assert path.read_text(encoding="utf-8-sig").splitlines() == [
        "contact_id,customer_id,name,role,status,import_line,import_problems",
        "P2,C9,Bob,other,active,3,unknown customer_id 'C9'",
        "P3,C2,Cy,boss,active,4,"
        "\"'role' must be one of decision_maker, daily_contact, champion, other, got 'boss'\"",
    ]


@pytest.mark.django_db
def test_a_deal_cannot_move_into_a_stage_without_its_required_fields(tmp_path: Path) -> None:
    shutil.copytree(GOOD, tmp_path / "in")
    import_folder(tmp_path / "in")
    deals = tmp_path / "in" / "deals.csv"
    lines = deals.read_text().splitlines()
    lines[1] = lines[1].replace("new_business,proposal,open", "new_business,final_negotiation,open")
    deals.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "in" / "deal_stage_history.csv").unlink()
    report = import_folder(tmp_path / "in")
    assert [str(problem) for problem in report.problems] == [
        "deals.csv:2: stage 'final_negotiation' requires decision_maker, approval_status"
    ]
    assert Deal.objects.get(external_id="D1").stage.key == "proposal"


@pytest.mark.django_db
def test_shift_jis_with_japanese_dates_and_full_width_digits(tmp_path: Path) -> None:
    text = (
        "customer_id,name,country,industry,employees,channel,owner,created_at\n"
        "C1,株式会社テスト,JP,製造,１２０,web,,2024年4月1日\n"
    )
    (tmp_path / "customers.csv").write_bytes(text.encode("cp932"))
    assert import_folder(tmp_path).committed
    account = Account.objects.get(external_id="C1")
    assert (account.name, account.industry, account.employees) == ("株式会社テスト", "製造", 120)
    assert timezone.localtime(account.created_at).date() == date(2024, 4, 1)


@pytest.mark.django_db
def test_import_command_refuses_a_folder_with_problems(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, spend="month,channel,amount,currency\n2024-05,web,-1,JPY\n")
    with pytest.raises(CommandError, match="1 problems found; nothing was imported"):
        call_command("import", str(folder))
    call_command("import", str(folder), "--skip-invalid", "--rejected-dir", str(tmp_path / "r"))
    assert (tmp_path / "r" / "spend.csv").exists()
