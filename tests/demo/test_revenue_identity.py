"""The demo company's revenue obeys the MRR identity, per customer and in total, every month."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from io import StringIO
from itertools import pairwise

import pytest
from django.core.management import call_command

from kizuna.billing.models import CustomerMrr, PeriodKind, RevenueKpi
from kizuna.sources.recompute import run_subject

MOVEMENT_SIGN = {
    "new": 1,
    "expansion": 1,
    "reactivation": 1,
    "contraction": -1,
    "churned": -1,
}


@pytest.mark.django_db
def test_mrr_identity_holds_on_the_demo_data() -> None:
    call_command(
        "demo-data",
        "--accounts",
        "150",
        "--months",
        "24",
        "--usage-days",
        "30",
        "--seed",
        "11",
        "--as-of",
        "2025-06-30",
        stdout=StringIO(),
    )
    run_subject("revenue", date(2025, 6, 30))

    months = list(RevenueKpi.objects.filter(period_kind=PeriodKind.MONTH))
    assert len(months) >= 20
    movements_seen: set[str] = set()
    for previous, current in pairwise(months):
        values = {
            name: Decimal(str(current.values[name]))
            for name in (
                "mrr",
                "new_mrr",
                "expansion_mrr",
                "reactivation_mrr",
                "contraction_mrr",
                "churned_mrr",
                "fx_mrr",
            )
        }
        expected = (
            Decimal(str(previous.values["mrr"]))
            + values["new_mrr"]
            + values["expansion_mrr"]
            + values["reactivation_mrr"]
            - values["contraction_mrr"]
            - values["churned_mrr"]
            + values["fx_mrr"]
        )
        # Each movement is rounded to whole yen separately, so the sum may differ by a few yen.
        assert abs(values["mrr"] - expected) <= 3, current.period_start

    history: dict[int, Decimal] = defaultdict(Decimal)
    for row in CustomerMrr.objects.order_by("account_id", "month"):
        movements_seen.add(row.movement)
        if row.movement in MOVEMENT_SIGN:
            assert (row.delta > 0) == (MOVEMENT_SIGN[row.movement] > 0), row
        assert abs(history[row.account_id] + row.delta + row.fx - row.mrr) <= 1, row
        history[row.account_id] = row.mrr
    assert {"new", "expansion", "contraction", "churned"} <= movements_seen
    assert Decimal(str(months[-1].values["mrr"])) > Decimal(str(months[0].values["mrr"]))
