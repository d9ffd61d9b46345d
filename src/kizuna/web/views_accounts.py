"""The account list: every account the user may see, filtered by the URL (criteria or a saved
segment), exportable as CSV; the current criteria can be saved as a segment."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from kizuna.crm.access import may_save_segments, role_of, visible_accounts, visible_segments
from kizuna.crm.models import AccountStatus, LifecycleStage, TouchTier
from kizuna.crm.segments import describe
from kizuna.web.accounts_by_column import AccountsByColumn
from kizuna.web.accounts_by_mrr import AccountsByMrr, latest_mrr_month, mrr_order, with_current_mrr
from kizuna.web.exports import csv_response, wants_export
from kizuna.web.filters import AccountFilterForm, value_labels
from kizuna.web.tables import Column, Table
from kizuna.web.views_segments import SaveSegmentForm

PAGE_SIZE = 50
SORTS: dict[str, tuple[Any, ...]] = {
    "mrr": mrr_order(),
    "name": ("name", "pk"),
    "renewal": (F("renewal_date").asc(nulls_last=True), "name", "pk"),
}


def account_columns() -> list[Column]:
    return [
        Column("name", _("Account"), link="url"),
        Column("external_id", _("External id")),
        Column("mrr", _("MRR"), "money"),
        Column("plan", _("Plan")),
        Column("status", _("Status")),
        Column("lifecycle_stage", _("Lifecycle stage")),
        Column("touch_tier", _("Touch tier")),
        Column("owner", _("Sales owner")),
        Column("cs_owner", _("CS owner")),
        Column("industry", _("Industry")),
        Column("renewal_date", _("Renewal date"), "date"),
    ]


VALUES = (
    "pk",
    "name",
    "external_id",
    "mrr",
    "plan",
    "status",
    "lifecycle_stage",
    "touch_tier",
    "owner__username",
    "cs_owner__username",
    "industry",
    "renewal_date",
)


def account_rows(values: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    statuses = dict(AccountStatus.choices)
    stages = dict(LifecycleStage.choices)
    tiers = dict(TouchTier.choices)
    return [
        {
            **value,
            "url": reverse("account", args=[value["pk"]]),
            "status": statuses.get(value["status"], value["status"]),
            "lifecycle_stage": stages.get(value["lifecycle_stage"], value["lifecycle_stage"]),
            "touch_tier": tiers.get(value["touch_tier"], value["touch_tier"]),
            "owner": value["owner__username"] or "",
            "cs_owner": value["cs_owner__username"] or "",
        }
        for value in values
    ]


@login_required
def accounts(request: HttpRequest) -> HttpResponse:
    visible = visible_accounts(request.user)
    form = AccountFilterForm(request.GET, visible, visible_segments(request.user))
    month = latest_mrr_month()
    sort = request.GET.get("sort") or "mrr"
    if sort not in SORTS:
        sort = "mrr"
    matching = form.apply(visible)
    # Counted without the MRR and owner joins of the displayed columns: the same accounts.
    count = matching.count()
    ordered: AccountsByMrr | AccountsByColumn = (
        AccountsByMrr(matching, month, VALUES, count)
        if sort == "mrr" and month is not None
        else AccountsByColumn(
            matching, partial(with_current_mrr, month=month), SORTS[sort], VALUES, count
        )
    )
    title = _("Accounts")
    if wants_export(request) == "accounts":
        # Every row, read in chunks from the one sorted query.
        rows = account_rows(ordered)
        return csv_response(Table("accounts", title, account_columns(), rows), "accounts")
    paginator = Paginator(ordered, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    table = Table(
        "accounts",
        title,
        account_columns(),
        account_rows(page.object_list),
        empty=_("No account matches these filters."),
    )
    chosen_segment = form.chosen_segment()
    role = role_of(request.user)
    return render(
        request,
        "kizuna/accounts.html",
        {
            "form": form,
            "table": table,
            "page": page,
            "sort": sort,
            "month": month,
            "chosen_segment": chosen_segment,
            "chosen_segment_description": describe(chosen_segment.definition, value_labels())
            if chosen_segment
            else "",
            # Saving is offered for filters that set criteria and no saved segment.
            "save_form": SaveSegmentForm()
            if form.definition()
            and chosen_segment is None
            and may_save_segments(role, shared=False)
            else None,
            "may_share": may_save_segments(role, shared=True),
        },
    )
