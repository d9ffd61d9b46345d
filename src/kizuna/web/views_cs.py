"""Customer-success dashboard (SPEC D3): health, risk, renewals, onboarding, churn and NPS."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kizuna.crm.access import visible_accounts
from kizuna.crm.models import (
    Account,
    Activity,
    ChurnReason,
    ChurnRecord,
    LifecycleStage,
    OnboardingItem,
    Task,
    TaskStatus,
)
from kizuna.health.models import (
    BandCount,
    HealthScore,
    HealthStatus,
    NpsMonth,
    OwnedSummary,
    PreChurnScores,
)
from kizuna.pipeline.models import Deal, Pipeline, PipelineKind
from kizuna.sources.store_cs_summary import PRE_CHURN_MONTHS, Owners
from kizuna.web.books import within_book
from kizuna.web.charts import COLORS, Chart, Series, embed, series_figure
from kizuna.web.deals import open_pipeline_by_stage
from kizuna.web.exports import export_response, wants_export
from kizuna.web.filters import MonthRange, add_months, month_range
from kizuna.web.tables import Column, QueryRows, Row, Table
from kizuna.web.views_accounts import latest_mrr_month, with_current_mrr

# Seed defaults (SPEC H2, S6, R5); each can be changed in settings.
DEFAULTS = {
    "KIZUNA_RISK_SCORE": Decimal(60),
    "KIZUNA_RENEWAL_WINDOW_DAYS": 90,
    "KIZUNA_TARGET_NPS": Decimal(30),
}
# Rows each list shows on the page; "Download CSV" gives all of them.
LIST_LIMIT = 50
BAND_COLORS: dict[str, str] = {
    HealthStatus.HEALTHY: "#1e7b3c",
    HealthStatus.CAUTION: "#d9a300",
    HealthStatus.RISK: "#e0701b",
    HealthStatus.CRITICAL: "#b42318",
    HealthStatus.ONBOARDING: "#56B4E9",
    HealthStatus.INSUFFICIENT_DATA: "#999999",
}


def setting(name: str) -> Decimal:
    return Decimal(str(getattr(settings, name, DEFAULTS[name])))


def latest_health_date() -> date | None:
    latest: date | None = HealthScore.objects.aggregate(latest=Max("date"))["latest"]
    return latest


def book_owners(accounts: QuerySet[Account]) -> set[Owners] | None:
    """The (CS owner, sales owner) pairs of a book of business; ``None`` for every account.

    A book is made of owners (``kizuna.crm.access``), so its figures are the summary rows of
    its owner pairs.
    """
    if not accounts.query.has_filters():
        return None
    return set(accounts.values_list("cs_owner_id", "owner_id").distinct())


Key = tuple[Any, ...]


def summed(
    rows: QuerySet[OwnedSummary],
    keys: Sequence[str],
    figures: Sequence[str],
    owners: set[Owners] | None,
) -> dict[Key, dict[str, int]]:
    """``figures`` of the summary ``rows`` of a book added up per ``keys``."""
    if owners is None:
        groups = rows.values(*keys).annotate(**{figure: Sum(figure) for figure in figures})
        return {
            tuple(group[key] for key in keys): {figure: group[figure] for figure in figures}
            for group in groups.order_by()
        }
    cs_owners = {cs_owner for cs_owner, _owner in owners if cs_owner is not None}
    sales_owners = {owner for _cs_owner, owner in owners if owner is not None}
    within = Q(cs_owner_id__in=cs_owners) | Q(owner_id__in=sales_owners)
    if (None, None) in owners:
        within |= Q(cs_owner_id=None, owner_id=None)
    sums: dict[Key, dict[str, int]] = {}
    for row in rows.filter(within).values("cs_owner_id", "owner_id", *keys, *figures):
        if (row["cs_owner_id"], row["owner_id"]) not in owners:
            continue
        total = sums.setdefault(tuple(row[key] for key in keys), dict.fromkeys(figures, 0))
        for figure in figures:
            total[figure] += row[figure]
    return sums


def latest_band_date() -> date | None:
    """The latest day of the health band summary (the health scores' latest day once the
    ``cs-summary`` recompute has run after ``health``)."""
    latest: date | None = BandCount.objects.aggregate(latest=Max("date"))["latest"]
    return latest


def health_distribution(owners: set[Owners] | None, day: date) -> Chart:
    counts: dict[str, Any] = {
        status: sums["accounts"]
        for (status,), sums in summed(
            BandCount.objects.filter(date=day), ["status"], ["accounts"], owners
        ).items()
    }
    total = sum(counts.values())
    rows = [
        {
            "status": label,
            "count": counts.get(value, 0),
            "share": Decimal(counts.get(value, 0)) / total if total else None,
        }
        for value, label in HealthStatus.choices
    ]
    figure = series_figure(
        [str(row["status"]) for row in rows],
        [
            Series(_("Accounts"), [row["count"] for row in rows], color)
            for color in [COLORS["primary"]]
        ],
        axis="number",
    )
    figure.update_traces(
        marker_color=[BAND_COLORS[value] for value, _label in HealthStatus.choices]
    )
    figure.update_layout(showlegend=False)
    table = Table(
        key="health",
        title=_("Health distribution"),
        columns=[
            Column("status", _("Band")),
            Column("count", _("Accounts"), "number"),
            Column("share", _("Share"), "percent"),
        ],
        rows=rows,
    )
    return embed(
        "chart-health",
        _("Health distribution"),
        _("Number of accounts in each health band on %(date)s.") % {"date": day.isoformat()},
        figure,
        table,
    )


def risk_list(accounts: QuerySet[Account], day: date) -> Table:
    threshold = setting("KIZUNA_RISK_SCORE")
    scores = (
        within_book(HealthScore.objects.filter(date=day, score__lt=threshold), accounts)
        .select_related("account", "account__cs_owner")
        # Only what the list shows: every risk row of the day goes through the sort.
        .only("account_id", "score", "status", "account__name", "account__cs_owner__username")
        .order_by("score", "account__name", "account_id")
    )
    labels = {value: str(label) for value, label in HealthStatus.choices}

    def make_rows(chunk: Sequence[HealthScore]) -> list[Row]:
        ids = [score.account_id for score in chunk]
        open_tasks = dict(
            Task.objects.filter(account_id__in=ids, status=TaskStatus.OPEN)
            .values("account_id")
            .annotate(count=Count("id"))
            .values_list("account_id", "count")
        )
        last_touches = dict(
            Activity.objects.filter(account_id__in=ids)
            .values("account_id")
            .annotate(last=Max("occurred_at"))
            .values_list("account_id", "last")
        )
        rows: list[Row] = []
        for score in chunk:
            tasks = open_tasks.get(score.account_id, 0)
            last_touch = last_touches.get(score.account_id)
            if tasks:
                response = _("Task open")
            elif last_touch and last_touch.date() >= day - timedelta(days=30):
                response = _("Contacted")
            else:
                response = _("No response yet")
            owner = score.account.cs_owner
            rows.append(
                {
                    "account": score.account.name,
                    "url": reverse("account", args=[score.account_id]),
                    "score": score.score,
                    "status": labels.get(score.status, score.status),
                    "cs_owner": owner.get_username() if owner else "",
                    "open_tasks": tasks,
                    "last_touch": last_touch,
                    "response": response,
                }
            )
        return rows

    return Table(
        key="risk",
        title=_("Risk list"),
        columns=[
            Column("account", _("Account"), link="url"),
            Column("score", _("Score"), "number"),
            Column("status", _("Band")),
            Column("cs_owner", _("CS owner")),
            Column("open_tasks", _("Open tasks"), "number"),
            Column("last_touch", _("Last contact"), "datetime"),
            Column("response", _("Response status")),
        ],
        rows=QueryRows(scores, make_rows),
        limit=LIST_LIMIT,
        caption_extra=_("score below %(score)s") % {"score": f"{threshold:.0f}"},
        empty=_("No account below the risk threshold."),
    )


def renewals(accounts: QuerySet[Account], today: date) -> Table:
    window = int(setting("KIZUNA_RENEWAL_WINDOW_DAYS"))
    upcoming = (
        with_current_mrr(accounts, latest_mrr_month())
        .filter(renewal_date__gte=today, renewal_date__lte=today + timedelta(days=window))
        .select_related("cs_owner")
        .order_by("renewal_date", "name", "pk")
    )

    def make_rows(chunk: Sequence[Account]) -> list[Row]:
        return [
            {
                "account": account.name,
                "url": reverse("account", args=[account.pk]),
                "renewal_date": account.renewal_date,
                "days": (account.renewal_date - today).days if account.renewal_date else None,
                "mrr": getattr(account, "mrr", None),
                "cs_owner": account.cs_owner.get_username() if account.cs_owner else "",
            }
            for account in chunk
        ]

    return Table(
        key="renewals",
        title=_("Renewals in the next %(days)s days") % {"days": window},
        columns=[
            Column("account", _("Account"), link="url"),
            Column("renewal_date", _("Renewal date"), "date"),
            Column("days", _("Days left"), "number"),
            Column("mrr", _("MRR"), "money"),
            Column("cs_owner", _("CS owner")),
        ],
        rows=QueryRows(upcoming, make_rows),
        limit=LIST_LIMIT,
        empty=_("No renewals in this window."),
    )


def onboarding(accounts: QuerySet[Account]) -> Table:
    onboarding_accounts = accounts.filter(lifecycle_stage=LifecycleStage.ONBOARDING)

    def make_rows(chunk: Sequence[dict[str, Any]]) -> list[Row]:
        steps = {
            row["account_id"]: row
            for row in OnboardingItem.objects.filter(account_id__in=[row["pk"] for row in chunk])
            .values("account_id")
            .annotate(total=Count("id"), done=Count("id", filter=Q(done_on__isnull=False)))
        }
        rows: list[Row] = []
        for account in chunk:
            counts = steps.get(account["pk"], {"total": 0, "done": 0})
            rows.append(
                {
                    "account": account["name"],
                    "url": reverse("account", args=[account["pk"]]),
                    "contract_start": account["contract_start"],
                    "done": counts["done"],
                    "total": counts["total"],
                    "progress": Decimal(counts["done"]) / counts["total"]
                    if counts["total"]
                    else None,
                }
            )
        return rows

    return Table(
        key="onboarding",
        title=_("Onboarding progress"),
        columns=[
            Column("account", _("Account"), link="url"),
            Column("contract_start", _("Contract start"), "date"),
            Column("done", _("Steps done"), "number"),
            Column("total", _("Steps"), "number"),
            Column("progress", _("Progress"), "percent"),
        ],
        rows=QueryRows(
            onboarding_accounts.order_by("contract_start", "name", "pk").values(
                "pk", "name", "contract_start"
            ),
            make_rows,
        ),
        limit=LIST_LIMIT,
        empty=_("No account is onboarding."),
    )


def churn_reasons(accounts: QuerySet[Account], period: MonthRange) -> Chart:
    assert period.start is not None and period.end is not None
    counts = dict(
        within_book(
            ChurnRecord.objects.filter(
                churned_on__gte=period.start, churned_on__lt=add_months(period.end, 1)
            ),
            accounts,
        )
        .values("reason")
        .annotate(count=Count("id"))
        .values_list("reason", "count")
    )
    rows = [
        {"reason": label, "count": counts.get(value, 0)} for value, label in ChurnReason.choices
    ]
    if not any(counts.values()):
        rows = []
    figure = series_figure(
        [str(row["reason"]) for row in rows],
        [Series(_("Churned accounts"), [row["count"] for row in rows], COLORS["churned"])],
        axis="number",
    )
    return embed(
        "chart-churn-reasons",
        _("Churn reasons"),
        _("Churned accounts in the period by recorded reason."),
        figure,
        Table(
            key="churn_reasons",
            title=_("Churn reasons"),
            columns=[Column("reason", _("Reason")), Column("count", _("Accounts"), "number")],
            rows=rows,
            empty=_("No churn in this period."),
        ),
    )


def pre_churn_trajectory(owners: set[Owners] | None, period: MonthRange) -> Chart:
    """Average health score of churned accounts by month (30 days) before their churn.

    From the ``cs-summary`` recompute: scores summed in tenths per churn month, month of the
    next churn and months before churn. An account that churned twice in the period counts
    from its latest churn: the churn whose next one falls after the period.
    """
    assert period.start is not None and period.end is not None
    sums = {
        months: (total["tenths"], total["scores"])
        for (months,), total in summed(
            PreChurnScores.objects.filter(
                Q(next_churn_month=None) | Q(next_churn_month__gt=period.end),
                churn_month__gte=period.start,
                churn_month__lte=period.end,
            ),
            ["months_before"],
            ["tenths", "scores"],
            owners,
        ).items()
    }
    rows = []
    for months in range(PRE_CHURN_MONTHS, -1, -1):
        tenths, observations = sums.get(months, (0, 0))
        rows.append(
            {
                "months_before": months,
                "score": (Decimal(int(tenths)) / 10 / observations).quantize(Decimal("0.1"))
                if observations
                else None,
                "observations": observations,
            }
        )
    figure = series_figure(
        [str(row["months_before"]) for row in rows],
        [
            Series(
                _("Average health score"), [row["score"] for row in rows], COLORS["churned"], "line"
            )
        ],
        axis="number",
    )
    figure.update_xaxes(title_text=_("Months before churn"))
    return embed(
        "chart-pre-churn",
        _("Health score before churn"),
        _("Average health score of accounts that churned in the period, by months before churn."),
        figure,
        Table(
            key="pre_churn",
            title=_("Health score before churn"),
            columns=[
                Column("months_before", _("Months before churn"), "number"),
                Column("score", _("Average health score"), "number"),
                Column("observations", _("Scores"), "number"),
            ],
            rows=rows,
        ),
    )


def nps_trend(owners: set[Owners] | None, period: MonthRange) -> Chart:
    """NPS per month, from the answers counted per month by the ``cs-summary`` recompute."""
    assert period.start is not None and period.end is not None
    counts = summed(
        NpsMonth.objects.filter(month__gte=period.start, month__lte=period.end),
        ["month"],
        ["responses", "promoters", "detractors"],
        owners,
    )
    rows: list[dict[str, Any]] = [
        {"month": month, **counts[(month,)]} for (month,) in sorted(counts)
    ]
    for row in rows:
        row["month_label"] = row["month"].strftime("%Y-%m")
        row["nps"] = (
            (Decimal(row["promoters"] - row["detractors"]) * 100 / row["responses"]).quantize(
                Decimal("0.1")
            )
            if row["responses"]
            else None
        )
    target = setting("KIZUNA_TARGET_NPS")
    figure = series_figure(
        [row["month_label"] for row in rows],
        [Series(_("NPS"), [row["nps"] for row in rows], COLORS["primary"], "line")],
        axis="number",
        targets=[(_("Target %(value)s") % {"value": f"+{target:.0f}"}, target)],
    )
    return embed(
        "chart-nps",
        _("NPS trend"),
        _("Net promoter score per month (promoters minus detractors, in points)."),
        figure,
        Table(
            key="nps",
            title=_("NPS trend"),
            columns=[
                Column("month_label", _("Month")),
                Column("responses", _("Responses"), "number"),
                Column("promoters", _("Promoters"), "number"),
                Column("detractors", _("Detractors"), "number"),
                Column("nps", _("NPS"), "number"),
            ],
            rows=rows,
            empty=_("No NPS answers in this period."),
        ),
    )


@login_required
def cs(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    period = month_range(request, today.replace(day=1))
    accounts = visible_accounts(request.user)
    owners = book_owners(accounts)
    health_day = latest_health_date()
    band_day = latest_band_date()
    charts: list[Chart] = []
    if band_day is not None:
        charts.append(health_distribution(owners, band_day))
    risk = None if health_day is None else risk_list(accounts, health_day)
    charts.append(
        open_pipeline_by_stage(
            # By pipeline id, so the deals' pipeline index finds them without a table scan.
            within_book(
                Deal.objects.filter(pipeline__in=Pipeline.objects.filter(kind=PipelineKind.UPSELL)),
                accounts,
            ),
            "upsell",
            _("Upsell pipeline by stage"),
        )
    )
    charts += [nps_trend(owners, period), churn_reasons(accounts, period)]
    if band_day is not None:
        charts.append(pre_churn_trajectory(owners, period))
    lists = [table for table in (risk, renewals(accounts, today), onboarding(accounts)) if table]
    tables = lists + [chart.table for chart in charts if chart.table is not None]
    if wants_export(request):
        return export_response(request, tables, "cs")
    return render(
        request,
        "kizuna/cs.html",
        {
            "period": period,
            "charts": charts,
            "lists": lists,
            "health_day": health_day,
            "tables_on_demand": True,
        },
    )
