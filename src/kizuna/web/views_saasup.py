"""Contract views (SPEC D4, R7, G5): contract ranking with product breakdown, impact × risk."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from statistics import median
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Max, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kizuna.billing.models import CustomerMrr, ProductMrr
from kizuna.crm.access import visible_accounts
from kizuna.crm.models import Account
from kizuna.usage.models import UsageDaily
from kizuna.web.accounts_by_mrr import latest_mrr_month
from kizuna.web.books import within_book
from kizuna.web.charts import (
    SEQUENCE,
    Bubble,
    Chart,
    Series,
    bubble_figure,
    embed,
    stacked_bars_horizontal,
)
from kizuna.web.exports import export_response, wants_export
from kizuna.web.tables import Column, QueryRows, Row, Table

# The ranking chart shows the top customers; a longer bar list stops being readable.
RANKING_CHART_SIZE = 30
# Bubbles drawn: the largest contracts, which are the ones the matrix is about.
BUBBLE_LIMIT = 300
DEFAULT_INACTIVE_DAYS = 30


def inactive_days_threshold() -> int:
    return int(getattr(settings, "KIZUNA_RISK_INACTIVE_DAYS", DEFAULT_INACTIVE_DAYS))


def ranking(accounts: QuerySet[Account], month: date) -> Table:
    """Customers by MRR at ``month``, with their product count and plan."""
    paying = within_book(CustomerMrr.objects.filter(month=month, mrr__gt=0), accounts)
    customers = (
        paying.annotate(
            rank=Window(
                RowNumber(), order_by=[F("mrr").desc(), F("account__name"), F("account_id")]
            )
        )
        .order_by("-mrr", "account__name", "account_id")
        .values("rank", "account_id", "account__name", "account__plan", "mrr")
    )

    def make_rows(chunk: Sequence[dict[str, Any]]) -> list[Row]:
        products = dict(
            ProductMrr.objects.filter(
                month=month, mrr__gt=0, account_id__in=[row["account_id"] for row in chunk]
            )
            .values("account_id")
            .annotate(count=Count("id"))
            .values_list("account_id", "count")
        )
        rows: list[Row] = []
        for row in chunk:
            count = products.get(row["account_id"], 0)
            rows.append(
                {
                    **row,
                    "products": count,
                    "url": reverse("account", args=[row["account_id"]]),
                    "cross_sell": _("Single product") if count == 1 else "",
                }
            )
        return rows

    return Table(
        key="ranking",
        title=_("Contract ranking"),
        columns=[
            Column("rank", _("Rank"), "number"),
            Column("account__name", _("Account"), link="url"),
            Column("mrr", _("Contracted MRR"), "money"),
            Column("products", _("Products"), "number"),
            Column("account__plan", _("Plan")),
            Column("cross_sell", _("Cross-sell target")),
        ],
        rows=QueryRows(customers, make_rows, count_query=paying),
        limit=100,
        empty=_("No paying customers."),
    )


def ranking_chart(rows: Sequence[Row], month: date) -> Chart:
    top = rows[:RANKING_CHART_SIZE]
    ids = [row["account_id"] for row in top]
    parts: dict[str, dict[Any, Decimal]] = defaultdict(dict)
    for product, account_id, mrr in ProductMrr.objects.filter(
        month=month, account_id__in=ids, mrr__gt=0
    ).values_list("product", "account_id", "mrr"):
        parts[product][account_id] = mrr
    products = sorted(parts, key=lambda name: -sum(parts[name].values()))
    series = [
        Series(name, [parts[name].get(key) for key in ids], SEQUENCE[index % len(SEQUENCE)])
        for index, name in enumerate(products)
    ]
    labels = [f"{row['rank']}. {row['account__name']}" for row in top]
    figure = stacked_bars_horizontal(labels, series, links=[str(row["url"]) for row in top])
    table = Table(
        key="ranking_products",
        title=_("MRR by product for the top customers"),
        columns=[
            Column("account", _("Account")),
            Column("product", _("Product")),
            Column("mrr", _("MRR"), "money"),
        ],
        rows=[
            {"account": label, "product": name, "mrr": parts[name][key]}
            for label, key in zip(labels, ids, strict=True)
            for name in products
            if key in parts[name]
        ],
    )
    return embed(
        "chart-ranking",
        _("Contract ranking by product"),
        _("The %(count)s customers with the highest MRR, each bar split by product.")
        % {"count": len(top)},
        figure,
        table,
        clickable=True,
    )


def impact_risk(rows: Sequence[Row], today: date) -> tuple[Chart, Table]:
    top = rows[:BUBBLE_LIMIT]
    ids = [row["account_id"] for row in top]
    last_use = dict(
        UsageDaily.objects.filter(account_id__in=ids)
        .filter(Q(logins__gt=0) | Q(active_users__gt=0))
        .values("account_id")
        .annotate(last=Max("date"))
        .values_list("account_id", "last")
    )
    bubbles: list[Bubble] = []
    points = []
    for row in top:
        last = last_use.get(row["account_id"])
        days = (today - last).days if last else None
        point = {**row, "last_use": last, "days": days}
        points.append(point)
        if days is not None:
            bubbles.append(
                Bubble(
                    label=str(row["account__name"]),
                    x=days,
                    y=Decimal(str(row["mrr"])),
                    size=int(str(row["products"])) or 1,
                    group=str(row["account__plan"] or ""),
                    link=str(row["url"]),
                )
            )
    inactive = inactive_days_threshold()
    configured = getattr(settings, "KIZUNA_IMPACT_MIN_MRR", None)
    high_mrr = (
        Decimal(str(configured))
        if configured is not None
        else (Decimal(median(bubble.y for bubble in bubbles)) if bubbles else Decimal(0))
    )
    figure = bubble_figure(
        bubbles,
        x_title=_("Days since last use"),
        y_title=_("Contracted MRR"),
        size_title=_("Products"),
        quadrant=(inactive, high_mrr),
        quadrant_label=_("Priority"),
    )
    priority = [
        point
        for point in points
        if point["days"] is None
        or (point["days"] >= inactive and Decimal(str(point["mrr"])) >= high_mrr)
    ]
    priority_table = Table(
        key="priority",
        title=_("Priority list: high MRR, long unused"),
        columns=[
            Column("account__name", _("Account"), link="url"),
            Column("mrr", _("Contracted MRR"), "money"),
            Column("days", _("Days since last use"), "number"),
            Column("last_use", _("Last use"), "date"),
            Column("products", _("Products"), "number"),
            Column("account__plan", _("Plan")),
        ],
        rows=priority,
        caption_extra=_("MRR ≥ %(mrr)s and unused for %(days)s days or more, or never used")
        % {"mrr": f"{high_mrr:,.0f}", "days": inactive},
        empty=_("No account in the priority quadrant."),
    )
    table = Table(
        key="impact_risk",
        title=_("Impact × risk"),
        columns=priority_table.columns,
        rows=points,
    )
    chart = embed(
        "chart-impact-risk",
        _("Impact × risk"),
        _(
            "One bubble per account: contracted MRR upwards, days since last use to the right, "
            "size by number of products, colour by plan. The shaded area is the priority "
            "quadrant. Select a bubble to open the account."
        ),
        figure,
        table,
        clickable=True,
    )
    return chart, priority_table


@login_required
def saasup(request: HttpRequest) -> HttpResponse:
    month = latest_mrr_month()
    accounts = visible_accounts(request.user)
    plan = request.GET.get("plan")
    if plan:
        accounts = accounts.filter(plan=plan)
    charts: list[Chart] = []
    tables: list[Table] = []
    if month is not None:
        ranking_table = ranking(accounts, month)
        # The chart and the matrix need the top rows only: read once, the longest head.
        rows = ranking_table.rows[: max(RANKING_CHART_SIZE, BUBBLE_LIMIT)]
        bubble_chart, priority = impact_risk(rows, timezone.localdate())
        charts = [ranking_chart(rows, month), bubble_chart]
        tables = [ranking_table, priority] + [chart.table for chart in charts if chart.table]
    if wants_export(request):
        return export_response(request, tables, "contracts")
    return render(
        request,
        "kizuna/saasup.html",
        {"month": month, "charts": charts, "tables": tables[:2], "tables_on_demand": True},
    )
