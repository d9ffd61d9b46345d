"""Deals: list, read, create and move between stages (required fields enforced).

Creating and moving go through :mod:`kizuna.pipeline.actions`, the path the board and the
importers take too: the same required-field rule, the same stage history and webhook event,
and the same effects of closing a deal (a won deal becomes a subscription and its billing
records, a churned renewal ends the subscription).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from ninja import Query, Router

from kizuna.api.convert import deal_out
from kizuna.api.errors import ERRORS, ApiError, not_found
from kizuna.api.pagination import PageIn, PageOut, paginated
from kizuna.api.routes_crm import visible_account
from kizuna.api.schemas import DealIn, DealOut, Id, StageMoveIn, Text
from kizuna.core.money import UnknownCurrency, check_currency
from kizuna.crm.access import visible_accounts
from kizuna.pipeline.actions import (
    ActionError,
    InvalidDealValues,
    StageMoveRefused,
    create_deal,
    move_deal,
)
from kizuna.pipeline.models import Deal, DealStatus

router = Router(tags=["deals"])


def _deals(request: HttpRequest) -> Any:
    return Deal.objects.filter(account__in=visible_accounts(request.user)).select_related(
        "pipeline", "stage", "owner"
    )


def _user(request: HttpRequest) -> AbstractBaseUser:
    # Token authentication has run: the request's user is a real, signed-in user.
    assert isinstance(request.user, AbstractBaseUser)
    return request.user


def _refused(error: StageMoveRefused) -> ApiError:
    return ApiError(
        422,
        "stage_requirements_missing",
        str(error),
        [{"location": f"fields.{key}", "message": "required"} for key in error.missing],
    )


def _unreadable(code: str, error: InvalidDealValues) -> ApiError:
    return ApiError(
        422,
        code,
        str(error),
        [
            {"location": f"fields.{key}", "message": message}
            for key, message in error.errors.items()
        ],
    )


@router.get("/deals", response={200: PageOut[DealOut], **ERRORS})
def list_deals(
    request: HttpRequest,
    page: Query[PageIn],
    account_id: Query[Id | None] = None,
    pipeline: Query[Text | None] = None,
    stage: Query[Text | None] = None,
    status: Query[DealStatus | None] = None,
    owner: Query[Text | None] = None,
) -> dict[str, Any]:
    """Deals of accounts you may see, by expected close date."""
    rows = _deals(request)
    if account_id:
        rows = rows.filter(account_id=account_id)
    if pipeline:
        rows = rows.filter(pipeline__key=pipeline)
    if stage:
        rows = rows.filter(stage__key=stage)
    if status:
        rows = rows.filter(status=status)
    if owner:
        rows = rows.filter(owner__username=owner)
    return paginated(rows.order_by("close_date", "pk"), page, deal_out)


@router.get("/deals/{deal_id}", response={200: DealOut, **ERRORS})
def get_deal(request: HttpRequest, deal_id: Id) -> DealOut:
    deal = _deals(request).filter(pk=deal_id).first()
    if deal is None:
        raise not_found()
    return deal_out(deal)


@router.post("/deals", response={201: DealOut, **ERRORS})
def post_deal(request: HttpRequest, payload: DealIn) -> tuple[int, DealOut]:
    """Open a deal owned by you; refused with 422 if the stage's required fields are missing."""
    account = visible_account(request, payload.account_id)
    try:
        currency = check_currency(payload.currency)
    except UnknownCurrency as error:
        raise ApiError(422, "unknown_currency", str(error)) from None
    user = _user(request)
    try:
        deal = create_deal(
            account=account,
            pipeline=payload.pipeline,
            stage=payload.stage,
            title=payload.title,
            currency=currency,
            amount_mrr=Decimal(payload.amount_mrr),
            close_date=payload.close_date,
            created_on=payload.created_on,
            values=payload.fields,
            owner=user,
            user=user,
        )
    except StageMoveRefused as error:
        raise _refused(error) from None
    except InvalidDealValues as error:
        raise _unreadable("invalid_deal", error) from None
    except ActionError as error:
        raise ApiError(422, "invalid_deal", str(error)) from None
    return 201, deal_out(_deals(request).get(pk=deal.pk))


@router.post("/deals/{deal_id}/stage", response={200: DealOut, **ERRORS})
def post_deal_stage(request: HttpRequest, deal_id: Id, payload: StageMoveIn) -> DealOut:
    """Fill stage fields and move the deal; 422 lists the fields the stage still needs.

    Moving into a won or lost stage closes the deal with its effects, as on the board: a won
    new-business deal starts the customer's subscription and its billing records.
    """
    deal = _deals(request).filter(pk=deal_id).first()
    if deal is None:
        raise not_found()
    try:
        move_deal(deal, payload.stage, _user(request), payload.fields)
    except StageMoveRefused as error:
        raise _refused(error) from None
    except InvalidDealValues as error:
        raise _unreadable("invalid_move", error) from None
    except ActionError as error:
        raise ApiError(422, "invalid_move", str(error)) from None
    return deal_out(_deals(request).get(pk=deal_id))
