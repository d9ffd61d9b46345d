"""Creating and editing a deal from the pages, through the same actions as the API.

``/deals/new/?account=<id>&pipeline=<key>`` opens the form (the board passes the pipeline,
the account page the account; a first step asks for whichever is missing). Only accounts the
user may see can get a deal: another person's account answers 404 and nothing is stored.
A refused deal answers 409 with the action's message naming the missing fields, and the
form shows those fields.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from kizuna.crm.access import visible_accounts
from kizuna.crm.models import Account
from kizuna.pipeline.actions import (
    ActionError,
    InvalidDealValues,
    StageMoveRefused,
    account_currency,
    create_deal,
    install_default_pipelines,
    update_deal,
)
from kizuna.pipeline.deal_forms import DealForm, DealStartForm, initial_for
from kizuna.pipeline.models import DealStatus, Pipeline
from kizuna.pipeline.views import visible_deals


def _chosen_account(request: HttpRequest, value: str | None) -> Account | None:
    if not value:
        return None
    if not value.isdigit():
        raise Http404(_("No such account."))
    return get_object_or_404(visible_accounts(request.user), pk=int(value))


def _user(request: HttpRequest) -> AbstractBaseUser | None:
    return request.user if isinstance(request.user, AbstractBaseUser) else None


def _owner(form: DealForm) -> AbstractBaseUser | None:
    owner_id = form.cleaned_data.get("owner")
    return get_user_model().objects.filter(pk=owner_id).first() if owner_id else None


def _refused(form: DealForm, error: ActionError | StageMoveRefused) -> int:
    """Put the action's refusal on the form; the HTTP status to answer with."""
    if isinstance(error, StageMoveRefused):
        form.add_error(None, str(error))
        for key in error.missing:
            if key in form.fields:
                form.add_error(key, _("Required for this stage."))
        return 409
    if isinstance(error, InvalidDealValues):
        for key, message in error.errors.items():
            form.add_error(key if key in form.fields else None, message)
        return 422
    form.add_error(None, str(error))
    return 422


@login_required
def deal_create(request: HttpRequest) -> HttpResponse:
    install_default_pipelines()
    params = request.POST if request.method == "POST" else request.GET
    account = _chosen_account(request, params.get("account"))
    pipeline = Pipeline.objects.filter(key=params.get("pipeline", "")).first()
    if account is None or pipeline is None:
        start = DealStartForm(None, visible_accounts(request.user))
        start.initial = {
            "account": account.pk if account else None,
            "pipeline": pipeline.key if pipeline else None,
        }
        return render(request, "pipeline/deal_start.html", {"form": start})
    initial: dict[str, Any] = {
        "title": f"{account.name}: {pipeline.name}",
        "currency": account_currency(account),
        "owner": request.user.pk,
        "stage": request.GET.get("stage", ""),
    }
    form = DealForm(
        request.POST if request.method == "POST" else None,
        account=account,
        pipeline=pipeline,
        initial=initial,
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            deal = create_deal(
                account=account,
                pipeline=pipeline,
                stage=data["stage"],
                title=data["title"],
                close_date=data["close_date"],
                owner=_owner(form),
                user=_user(request),
                currency=data["currency"],
                values=form.stage_values(),
                product=data["product"],
                contacts=data["contacts"],
            )
        except (ActionError, StageMoveRefused) as error:
            status = _refused(form, error)
        else:
            messages.success(request, _("Deal “%(deal)s” created.") % {"deal": deal.title})
            return redirect("deal_detail", pk=deal.pk)
    elif request.method == "POST":
        status = 422
    return render(
        request,
        "pipeline/deal_form.html",
        {"form": form, "account": account, "pipeline": pipeline, "deal": None},
        status=status,
    )


@login_required
def deal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_object_or_404(visible_deals(request.user), pk=pk)
    if deal.status != DealStatus.OPEN:
        messages.error(request, _("A closed deal is not edited; open a new deal instead."))
        return redirect("deal_detail", pk=deal.pk)
    form = DealForm(
        request.POST if request.method == "POST" else None,
        account=deal.account,
        pipeline=deal.pipeline,
        initial=initial_for(deal),
        stage_editable=False,
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            update_deal(
                deal,
                _user(request),
                title=data["title"],
                close_date=data["close_date"],
                owner=_owner(form),
                currency=data["currency"],
                product=data["product"],
                values=form.stage_values(),
                contacts=data["contacts"],
            )
        except (ActionError, StageMoveRefused) as error:
            status = _refused(form, error)
        else:
            messages.success(request, _("Deal “%(deal)s” saved.") % {"deal": data["title"]})
            return redirect("deal_detail", pk=deal.pk)
    elif request.method == "POST":
        status = 422
    return render(
        request,
        "pipeline/deal_form.html",
        {"form": form, "account": deal.account, "pipeline": deal.pipeline, "deal": deal},
        status=status,
    )
