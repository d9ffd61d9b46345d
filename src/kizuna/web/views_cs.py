"""Customer-success dashboard (SPEC D3): health, risk, renewals, onboarding, churn and NPS.

The filters live in the URL: the period (``from``/``to``), a saved segment (``segment``),
which narrows every figure to the segment's accounts within the reader's book, and how the
risk list is ranked (``rank``: health score, or churn probability once predictions exist).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kizuna.crm.access import visible_accounts, visible_segments
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
from kizuna.health.models import BandCount, HealthScore, HealthStatus
from kizuna.pipeline.models import Deal, Pipeline, PipelineKind
from kizuna.prediction.display import exact_probability, latest_prediction_day
from kizuna.prediction.models import ChurnPrediction
from kizuna.web.accounts_by_mrr import latest_mrr_month, with_current_mrr
from kizuna.web.books import each_within_book, listed_within_book
from kizuna.web.charts import COLORS, Chart, Series, embed, series_figure
from kizuna.web.cs_summaries import (
    BookSummaries,
    CsCounts,
    SegmentCounts,
    book_owners,
    health_distribution,
    nps_trend,
    pre_churn_trajectory,
)
from kizuna.web.deals import open_pipeline_by_stage
from kizuna.web.exports import export_response, wants_export
from kizuna.web.filters import MonthRange, SegmentFilterForm, add_months, month_range
from kizuna.web.tables import Column, QueryRows, Row, Table

# Seed defaults (SPEC H2, S6, R5); each can be changed in settings.
DEFAULTS = {
    "KIZUNA_RISK_SCORE": Decimal(60),
    "KIZUNA_RENEWAL_WINDOW_DAYS": 90,
    "KIZUNA_TARGET_NPS": Decimal(30),
}
# Rows each list shows on the page; "Download CSV" gives all of them.
LIST_LIMIT = 50
# How the risk list can be ranked (``?rank=``): lowest health score first (the default), or
# highest churn probability first.
BY_SCORE = "score"
BY_CHURN = "churn"


def setting(name: str) -> Decimal:
    return Decimal(str(getattr(settings, name, DEFAULTS[name])))


def latest_health_date() -> date | None:
    latest: date | None = HealthScore.objects.aggregate(latest=Max("date"))["latest"]
    return latest


def latest_band_date() -> date | None:
    """The latest day of the health band summary (the health scores' latest day once the
    ``cs-summary`` recompute has run after ``health``)."""
    latest: date | None = BandCount.objects.aggregate(latest=Max("date"))["latest"]
    return latest


def risk_list(
    accounts: QuerySet[Account], day: date, prediction_day: date | None, rank: str
) -> Table:
    """Accounts scored below the risk threshold on ``day``, with the churn probability of
    ``prediction_day`` when there is one, ranked by score or (``rank`` = :data:`BY_CHURN`)
    by that probability, accounts without one last."""
    threshold = setting("KIZUNA_RISK_SCORE")
    at_risk = HealthScore.objects.filter(date=day, score__lt=threshold)
    by_churn = prediction_day is not None and rank == BY_CHURN
    # By score, the rows are read in the list's order and the page's rows are found after
    # checking a few accounts; by churn probability, every risk row of the book is sorted.
    within = listed_within_book if by_churn else each_within_book
    scores = (
        within(at_risk, accounts)
        .select_related("account", "account__cs_owner")
        # Only what the list shows: every risk row of the day goes through the sort.
        .only("account_id", "score", "status", "account__name", "account__cs_owner__username")
    )
    order: tuple[Any, ...] = ("score",)
    caption = _("score below %(score)s") % {"score": f"{threshold:.0f}"}
    if prediction_day is not None:
        scores = scores.annotate(
            churn_probability=Subquery(
                ChurnPrediction.objects.filter(
                    account_id=OuterRef("account_id"), as_of=prediction_day
                ).values("probability")[:1]
            )
        )
        caption += " · " + _("churn probability as of %(date)s") % {
            "date": prediction_day.isoformat()
        }
        if by_churn:
            order = (F("churn_probability").desc(nulls_last=True), "score")
    scores = scores.order_by(*order, "account__name", "account_id")
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
                    "churn_probability": _probability(score),
                    "status": labels.get(score.status, score.status),
                    "cs_owner": owner.get_username() if owner else "",
                    "open_tasks": tasks,
                    "last_touch": last_touch,
                    "response": response,
                }
            )
        return rows

    columns = [
        Column("account", _("Account"), link="url"),
        Column("score", _("Score"), "number"),
        Column("status", _("Band")),
        Column("cs_owner", _("CS owner")),
        Column("open_tasks", _("Open tasks"), "number"),
        Column("last_touch", _("Last contact"), "datetime"),
        Column("response", _("Response status")),
    ]
    if prediction_day is not None:
        columns.insert(2, Column("churn_probability", _("Churn probability"), "percent"))
    return Table(
        key="risk",
        title=_("Risk list"),
        columns=columns,
        rows=QueryRows(scores, make_rows, count_query=listed_within_book(at_risk, accounts)),
        limit=LIST_LIMIT,
        caption_extra=caption,
        empty=_("No account below the risk threshold."),
    )


def _probability(score: HealthScore) -> Decimal | None:
    probability: float | None = getattr(score, "churn_probability", None)
    return None if probability is None else exact_probability(probability)


def renewals(accounts: QuerySet[Account], today: date) -> Table:
    window = int(setting("KIZUNA_RENEWAL_WINDOW_DAYS"))
    # The renewal-date index finds the window; each account is checked against the book.
    in_window = each_within_book(
        Account.objects.filter(
            renewal_date__gte=today, renewal_date__lte=today + timedelta(days=window)
        ),
        accounts,
        field="pk",
    )
    upcoming = (
        with_current_mrr(in_window, latest_mrr_month())
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
        rows=QueryRows(upcoming, make_rows, count_query=in_window),
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
        each_within_book(
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


@login_required
def cs(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    period = month_range(request, today.replace(day=1))
    segment_form = SegmentFilterForm(request.GET, visible_segments(request.user))
    segment = segment_form.chosen()
    accounts = segment_form.apply(visible_accounts(request.user))
    # A book adds up its owners' summary rows; a segment cuts across owners: counted live.
    counts: CsCounts = SegmentCounts(accounts) if segment else BookSummaries(book_owners(accounts))
    health_day = latest_health_date()
    band_day = health_day if segment else latest_band_date()
    prediction_day = latest_prediction_day()
    rank = request.GET.get("rank") if prediction_day is not None else None
    if rank not in (BY_SCORE, BY_CHURN):
        rank = BY_SCORE
    charts: list[Chart] = []
    if band_day is not None:
        charts.append(health_distribution(counts, band_day))
    risk = None if health_day is None else risk_list(accounts, health_day, prediction_day, rank)
    charts.append(
        open_pipeline_by_stage(
            # By pipeline id, so the deals' pipeline index finds them without a table scan.
            each_within_book(
                Deal.objects.filter(pipeline__in=Pipeline.objects.filter(kind=PipelineKind.UPSELL)),
                accounts,
            ),
            "upsell",
            _("Upsell pipeline by stage"),
        )
    )
    charts += [
        nps_trend(counts, period, setting("KIZUNA_TARGET_NPS")),
        churn_reasons(accounts, period),
    ]
    if band_day is not None:
        charts.append(pre_churn_trajectory(counts, period))
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
            "segment_form": segment_form,
            "segment": segment,
            "rank": rank if prediction_day is not None else None,
            "ranks": [(BY_SCORE, _("Health score")), (BY_CHURN, _("Churn probability"))],
            "tables_on_demand": True,
        },
    )
