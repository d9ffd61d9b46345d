"""Subscriptions with their items, and invoices, of the accounts the caller may see."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from kizuna.api.convert import invoice_out, subscription_out
from kizuna.api.errors import ERRORS, not_found
from kizuna.api.pagination import PageIn, PageOut, paginated
from kizuna.api.schemas import Id, InvoiceOut, SubscriptionOut
from kizuna.billing.models import Invoice, InvoiceStatus, Subscription, SubscriptionStatus
from kizuna.crm.access import visible_accounts

router = Router(tags=["billing"])


def _subscriptions(request: HttpRequest) -> Any:
    return Subscription.objects.filter(account__in=visible_accounts(request.user)).prefetch_related(
        "items__product", "items__plan"
    )


@router.get("/subscriptions", response={200: PageOut[SubscriptionOut], **ERRORS})
def list_subscriptions(
    request: HttpRequest,
    page: Query[PageIn],
    account_id: Query[Id | None] = None,
    status: Query[SubscriptionStatus | None] = None,
) -> dict[str, Any]:
    """Subscriptions with their priced items (money in each item's currency)."""
    rows = _subscriptions(request)
    if account_id:
        rows = rows.filter(account_id=account_id)
    if status:
        rows = rows.filter(status=status)
    return paginated(rows.order_by("pk"), page, subscription_out)


@router.get("/subscriptions/{subscription_id}", response={200: SubscriptionOut, **ERRORS})
def get_subscription(request: HttpRequest, subscription_id: Id) -> SubscriptionOut:
    subscription = _subscriptions(request).filter(pk=subscription_id).first()
    if subscription is None:
        raise not_found()
    return subscription_out(subscription)


@router.get("/invoices", response={200: PageOut[InvoiceOut], **ERRORS})
def list_invoices(
    request: HttpRequest,
    page: Query[PageIn],
    account_id: Query[Id | None] = None,
    status: Query[InvoiceStatus | None] = None,
    issued_from: Query[date | None] = None,
    issued_to: Query[date | None] = None,
) -> dict[str, Any]:
    """Invoices, newest first; ``issued_from``/``issued_to`` are inclusive ISO dates."""
    rows = Invoice.objects.filter(account__in=visible_accounts(request.user))
    if account_id:
        rows = rows.filter(account_id=account_id)
    if status:
        rows = rows.filter(status=status)
    if issued_from:
        rows = rows.filter(issued_on__gte=issued_from)
    if issued_to:
        rows = rows.filter(issued_on__lte=issued_to)
    return paginated(rows.order_by("-issued_on", "-pk"), page, invoice_out)


@router.get("/invoices/{invoice_id}", response={200: InvoiceOut, **ERRORS})
def get_invoice(request: HttpRequest, invoice_id: Id) -> InvoiceOut:
    invoice = Invoice.objects.filter(
        pk=invoice_id, account__in=visible_accounts(request.user)
    ).first()
    if invoice is None:
        raise not_found()
    return invoice_out(invoice)
