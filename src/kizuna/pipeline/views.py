"""Deal pages: the kanban board per pipeline, the filtered deal list and the deal page.

Every page shows only the deals the user may see (:func:`visible_deals`); every move goes
through :func:`kizuna.pipeline.actions.move_deal`, the rule the API and the importers share.
A move refused for missing fields answers with a form asking for exactly those fields: inside
a dialog on the board (JSON for the board's script), or as a page of its own without script.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kizuna.crm.access import visible_accounts
from kizuna.crm.models import ChurnReason, HandoffRecord
from kizuna.pipeline.actions import (
    ActionError,
    InvalidDealValues,
    StageMoveRefused,
    deal_values,
    install_default_pipelines,
    move_deal,
)
from kizuna.pipeline.defaults import DEAL_FIELDS
from kizuna.pipeline.models import Deal, DealStageChange, DealStatus, LostReason, Pipeline, Stage
from kizuna.pipeline.stage_rules import field_label, is_filled

# Cards per board column; the rest are one click away in the filtered list.
CARDS_PER_COLUMN = 50
# Closed deals stay on the board this long, so a team sees what it just won or lost.
CLOSED_ON_BOARD_DAYS = 30
PAGE_SIZE = 50
CHOICES: dict[str, type[LostReason] | type[ChurnReason]] = {
    "lost_reason": LostReason,
    "churn_reason": ChurnReason,
}
INPUT_TYPES = {"date": "date", "int": "number", "decimal": "number", "str": "text"}
# Deal fields the deal page shows in its own facts (amounts in their currency, reasons by
# label), so the list of stage fields leaves them out.
SHOWN_AS_FACTS = frozenset({"amount_mrr", "one_off_amount", "lost_reason", "churn_reason"})


def visible_deals(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Deal]:
    """Deals on the accounts the user may see, and deals the user owns."""
    return Deal.objects.filter(
        Q(account__in=visible_accounts(user)) | Q(owner_id=user.pk)
    ).select_related("account", "owner", "stage", "pipeline")


# --- the move prompt ------------------------------------------------------------------------


@dataclass(frozen=True)
class PromptField:
    key: str
    label: str
    input_type: str
    value: str
    error: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    step: str = ""


def _choices(key: str) -> tuple[tuple[str, str], ...]:
    """The field's choices, labelled in the language of the request."""
    choices = CHOICES.get(key)
    if choices is None:
        return ()
    return tuple((str(value), str(label)) for value, label in choices.choices)


def _prompt_fields(
    keys: list[str], submitted: dict[str, str], errors: dict[str, str]
) -> list[PromptField]:
    fields = []
    for key in keys:
        known = DEAL_FIELDS.get(key)
        kind = known.kind if known is not None else "str"
        fields.append(
            PromptField(
                key=key,
                label=field_label(key),
                input_type=INPUT_TYPES[kind],
                value=submitted.get(key, ""),
                error=errors.get(key, ""),
                choices=_choices(key),
                step={"int": "1", "decimal": "any"}.get(kind, ""),
            )
        )
    return fields


def _render_prompt(
    request: HttpRequest,
    deal: Deal,
    stage: Stage,
    fields: list[PromptField],
    message: str,
    next_url: str,
) -> str:
    return render_to_string(
        "pipeline/includes/move_form.html",
        {
            "deal": deal,
            "stage": stage,
            "fields": fields,
            "message": message,
            "next": next_url,
        },
        request=request,
    )


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _next_url(request: HttpRequest, deal: Deal) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("deal_detail", args=[deal.pk])


@login_required
@require_POST
def move(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Move a deal to the posted ``stage`` with the posted field values."""
    deal = get_object_or_404(visible_deals(request.user), pk=pk)
    stage = deal.pipeline.stages.filter(key=request.POST.get("stage", "")).first()
    if stage is None:
        raise Http404(_("No such stage in this pipeline."))
    allowed = set(DEAL_FIELDS) | set(stage.required_fields)
    submitted = {key: request.POST[key] for key in request.POST if key in allowed}
    next_url = _next_url(request, deal)
    user = request.user if isinstance(request.user, AbstractBaseUser) else None
    try:
        moved = move_deal(deal, stage, user, submitted)
    except StageMoveRefused as refused:
        keys = list(
            dict.fromkeys([*refused.missing, *(k for k in submitted if k in stage.required_fields)])
        )
        fields = _prompt_fields(keys, submitted, {})
        return _prompt_response(request, deal, stage, fields, str(refused), next_url, 409)
    except InvalidDealValues as invalid:
        keys = list(dict.fromkeys([*invalid.errors, *submitted]))
        fields = _prompt_fields(keys, submitted, invalid.errors)
        message = _("Some values could not be read; correct them and try again.")
        return _prompt_response(request, deal, stage, fields, message, next_url, 422)
    except ActionError as error:
        if _wants_json(request):
            return JsonResponse({"ok": False, "message": str(error)}, status=400)
        messages.error(request, str(error))
        return redirect(next_url)
    text = _("“%(deal)s” moved to %(stage)s.") % {"deal": moved.title, "stage": stage.name}
    messages.success(request, text)
    if _wants_json(request):
        return JsonResponse({"ok": True, "stage": stage.key, "message": text})
    return redirect(next_url)


def _prompt_response(
    request: HttpRequest,
    deal: Deal,
    stage: Stage,
    fields: list[PromptField],
    message: str,
    next_url: str,
    status: int,
) -> HttpResponse:
    if _wants_json(request):
        form = _render_prompt(request, deal, stage, fields, message, next_url)
        return JsonResponse(
            {"ok": False, "message": message, "missing": [f.key for f in fields], "form": form},
            status=status,
        )
    return render(
        request,
        "pipeline/move_prompt.html",
        {
            "deal": deal,
            "stage": stage,
            "fields": fields,
            "message": message,
            "next": next_url,
        },
        status=status,
    )


# --- the board ------------------------------------------------------------------------------


@dataclass
class BoardColumn:
    stage: Stage
    deals: list[Deal]
    count: int
    # MRR per currency (reporting currency first): amounts in different currencies are
    # never added together.
    amounts_mrr: list[tuple[str, Decimal]]


def _mrr_by_stage(deals: QuerySet[Deal]) -> dict[int, list[tuple[str, Decimal]]]:
    totals: dict[int, list[tuple[str, Decimal]]] = {}
    rows = deals.values("stage_id", "currency").annotate(mrr=Sum("amount_mrr"))
    for row in rows.order_by("stage_id", "currency"):
        totals.setdefault(row["stage_id"], []).append((row["currency"], row["mrr"] or Decimal(0)))
    for amounts in totals.values():
        amounts.sort(key=lambda amount: (amount[0] != settings.KIZUNA_CURRENCY, amount[0]))
    return totals


@login_required
def board(request: HttpRequest, pipeline: str | None = None) -> HttpResponse:
    install_default_pipelines()
    pipelines = list(Pipeline.objects.order_by("order", "pk"))
    if pipeline is None:
        return redirect("deal_board", pipeline=pipelines[0].key)
    current = get_object_or_404(Pipeline, key=pipeline)
    stages = list(current.stages.order_by("order", "pk"))
    since = timezone.localdate() - timedelta(days=CLOSED_ON_BOARD_DAYS)
    deals = visible_deals(request.user).filter(pipeline=current)
    deals = deals.filter(Q(status=DealStatus.OPEN) | Q(closed_on__gte=since))
    counts = dict(
        deals.values("stage_id").annotate(count=Count("id")).values_list("stage_id", "count")
    )
    amounts = _mrr_by_stage(deals)
    columns = []
    for stage in stages:
        cards = list(deals.filter(stage=stage).order_by("close_date", "pk")[:CARDS_PER_COLUMN])
        columns.append(
            BoardColumn(stage, cards, counts.get(stage.pk, 0), amounts.get(stage.pk, []))
        )
    return render(
        request,
        "pipeline/board.html",
        {
            "pipelines": pipelines,
            "pipeline": current,
            "columns": columns,
            "stages": stages,
            "closed_days": CLOSED_ON_BOARD_DAYS,
            "cards_per_column": CARDS_PER_COLUMN,
        },
    )


# --- the list -------------------------------------------------------------------------------


def _blank(label: str) -> list[tuple[str, str]]:
    return [("", label)]


class DealFilterForm(forms.Form):
    pipeline = forms.ChoiceField(label=gettext_lazy("Pipeline"), required=False)
    stage = forms.ChoiceField(label=gettext_lazy("Stage"), required=False)
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False)
    owner = forms.ChoiceField(label=gettext_lazy("Owner"), required=False)
    source = forms.ChoiceField(label=gettext_lazy("Lead source"), required=False)
    close_month = forms.CharField(
        label=gettext_lazy("Close month"),
        required=False,
        widget=forms.DateInput(attrs={"type": "month"}),
    )
    min_mrr = forms.DecimalField(label=gettext_lazy("MRR from"), required=False, min_value=0)
    max_mrr = forms.DecimalField(label=gettext_lazy("MRR up to"), required=False, min_value=0)

    def __init__(self, data: Any, deals: QuerySet[Deal]):
        super().__init__(data)
        fields = self.fields
        pipelines = Pipeline.objects.order_by("order", "pk")
        cast_choice(fields["pipeline"]).choices = _blank(_("All")) + [
            (p.key, p.name) for p in pipelines
        ]
        stages = Stage.objects.select_related("pipeline").order_by("pipeline__order", "order")
        cast_choice(fields["stage"]).choices = _blank(_("All")) + [
            (str(s.pk), f"{s.pipeline.name}: {s.name}") for s in stages
        ]
        cast_choice(fields["status"]).choices = _blank(_("All")) + [
            (str(value), str(label)) for value, label in DealStatus.choices
        ]
        owners = (
            get_user_model()
            .objects.filter(pk__in=deals.values("owner_id"))
            .order_by("username")
            .values_list("pk", "username")
        )
        cast_choice(fields["owner"]).choices = _blank(_("Anyone")) + [
            (str(pk), name) for pk, name in owners
        ]
        sources = deals.exclude(source="").order_by("source").values_list("source", flat=True)
        cast_choice(fields["source"]).choices = _blank(_("Any")) + [
            (source, source) for source in sources.distinct()
        ]

    def clean_close_month(self) -> date | None:
        text = self.cleaned_data.get("close_month") or ""
        if not text:
            return None
        try:
            year, month = (int(part) for part in text.split("-")[:2])
            return date(year, month, 1)
        except ValueError:
            raise forms.ValidationError(_("Enter a month as YYYY-MM.")) from None


def cast_choice(field: forms.Field) -> forms.ChoiceField:
    assert isinstance(field, forms.ChoiceField)
    return field


def filter_deals(deals: QuerySet[Deal], form: DealFilterForm) -> QuerySet[Deal]:
    if not form.is_valid():
        return deals.none()
    data = form.cleaned_data
    if data["pipeline"]:
        deals = deals.filter(pipeline__key=data["pipeline"])
    if data["stage"]:
        deals = deals.filter(stage_id=int(data["stage"]))
    if data["status"]:
        deals = deals.filter(status=data["status"])
    if data["owner"]:
        deals = deals.filter(owner_id=int(data["owner"]))
    if data["source"]:
        deals = deals.filter(source=data["source"])
    month = data["close_month"]
    if month is not None:
        deals = deals.filter(close_date__year=month.year, close_date__month=month.month)
    if data["min_mrr"] is not None:
        deals = deals.filter(amount_mrr__gte=data["min_mrr"])
    if data["max_mrr"] is not None:
        deals = deals.filter(amount_mrr__lte=data["max_mrr"])
    return deals


@login_required
def deal_list(request: HttpRequest) -> HttpResponse:
    deals = visible_deals(request.user)
    form = DealFilterForm(request.GET or None, deals)
    filtered = filter_deals(deals, form) if request.GET else deals
    filtered = filtered.order_by("close_date", "pk")
    totals = filtered.aggregate(count=Count("id"), mrr=Sum("amount_mrr"))
    page = Paginator(filtered, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "pipeline/deal_list.html",
        {"form": form, "page": page, "total_count": totals["count"], "total_mrr": totals["mrr"]},
    )


# --- the deal page --------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: Any
    kind: str
    text: str
    who: str = ""


def _timeline(deal: Deal) -> list[TimelineEntry]:
    entries = []
    changes = list(
        DealStageChange.objects.filter(deal=deal)
        .select_related("from_stage", "to_stage", "changed_by")
        .order_by("changed_at", "pk")
    )
    for index, change in enumerate(changes):
        if change.from_stage is None:
            text = _("Opened in %(stage)s") % {"stage": change.to_stage.name}
        else:
            days = (change.changed_at - changes[index - 1].changed_at).days if index else None
            text = _("%(from)s → %(to)s") % {
                "from": change.from_stage.name,
                "to": change.to_stage.name,
            }
            if days is not None:
                text += " " + _("(after %(days)s days)") % {"days": days}
        who = change.changed_by.get_username() if change.changed_by else _("Kizuna (automatic)")
        entries.append(TimelineEntry(change.changed_at, _("Stage"), text, who))
    for handoff in HandoffRecord.objects.filter(deal=deal):
        entries.append(
            TimelineEntry(handoff.created_at, _("Handoff"), _("Handoff to customer success opened"))
        )
        if handoff.completed_at:
            entries.append(
                TimelineEntry(handoff.completed_at, _("Handoff"), _("Handoff completed"))
            )
    return sorted(entries, key=lambda entry: entry.at, reverse=True)


@login_required
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_object_or_404(visible_deals(request.user), pk=pk)
    values = deal_values(deal)
    fields = [
        (field.label, values.get(key))
        for key, field in DEAL_FIELDS.items()
        if is_filled(values.get(key)) and key not in SHOWN_AS_FACTS
    ]
    return render(
        request,
        "pipeline/deal_detail.html",
        {
            "deal": deal,
            "fields": fields,
            "timeline": _timeline(deal),
            "stages": deal.pipeline.stages.order_by("order", "pk"),
            "reason_detail": deal.details.get("reason_detail", ""),
        },
    )
