"""Store rows as API responses (explicit, so the wire format never follows a model by accident)."""

from __future__ import annotations

from django.conf import settings

from kizuna.api.schemas import (
    AccountOut,
    ContactOut,
    DealOut,
    InvoiceOut,
    Money,
    SubscriptionItemOut,
    SubscriptionOut,
    TaskOut,
    money_text,
)
from kizuna.billing.models import Invoice, Subscription
from kizuna.crm.models import Account, Contact, Task
from kizuna.pipeline.models import Deal


def reporting_currency() -> str:
    return str(settings.KIZUNA_CURRENCY)


def account_out(account: Account) -> AccountOut:
    return AccountOut(
        id=account.pk,
        external_id=account.external_id,
        name=account.name,
        industry=account.industry,
        employees=account.employees,
        country=account.country,
        channel=account.channel,
        owner=account.owner.get_username() if account.owner else None,
        cs_owner=account.cs_owner.get_username() if account.cs_owner else None,
        status=account.status,
        lifecycle_stage=account.lifecycle_stage,
        touch_tier=account.touch_tier,
        plan=account.plan,
        contract_start=account.contract_start,
        renewal_date=account.renewal_date,
        churned_on=account.churned_on,
        created_at=account.created_at,
    )


def contact_out(contact: Contact) -> ContactOut:
    return ContactOut(
        id=contact.pk,
        external_id=contact.external_id,
        account_id=contact.account_id,
        name=contact.name,
        email=contact.email,
        title=contact.title,
        role=contact.role,
        status=contact.status,
        status_changed_on=contact.status_changed_on,
    )


def subscription_out(subscription: Subscription) -> SubscriptionOut:
    items = [
        SubscriptionItemOut(
            id=item.pk,
            product=item.product.code,
            plan=item.plan.name if item.plan else None,
            quantity=format(item.quantity.normalize(), "f"),
            unit_price=Money.of(item.unit_price, item.currency),
            interval=item.interval,
            interval_count=item.interval_count,
            discount_percent=format(item.discount_percent.normalize(), "f"),
            discount_amount=Money.of(item.discount_amount, item.currency),
            start_date=item.start_date,
            end_date=item.end_date,
            trial_end_date=item.trial_end_date,
            recurring=item.recurring,
        )
        for item in subscription.items.all()
    ]
    return SubscriptionOut(
        id=subscription.pk,
        external_id=subscription.external_id,
        account_id=subscription.account_id,
        status=subscription.status,
        currency=subscription.currency,
        started_on=subscription.started_on,
        ended_on=subscription.ended_on,
        canceled_at=subscription.canceled_at,
        term_months=subscription.term_months,
        source=subscription.source,
        items=items,
    )


def invoice_out(invoice: Invoice) -> InvoiceOut:
    return InvoiceOut(
        id=invoice.pk,
        external_id=invoice.external_id,
        account_id=invoice.account_id,
        subscription_id=invoice.subscription_id,
        issued_on=invoice.issued_on,
        due_on=invoice.due_on,
        paid_on=invoice.paid_on,
        amount=Money.of(invoice.amount, invoice.currency),
        one_off_amount=Money.of(invoice.one_off_amount, invoice.currency),
        tax=Money.of(invoice.tax, invoice.currency),
        status=invoice.status,
    )


def deal_out(deal: Deal) -> DealOut:
    return DealOut(
        id=deal.pk,
        external_id=deal.external_id,
        title=deal.title,
        account_id=deal.account_id,
        pipeline=deal.pipeline.key,
        stage=deal.stage.key,
        status=deal.status,
        owner=deal.owner.get_username() if deal.owner else None,
        amount_mrr=Money.of(deal.amount_mrr, deal.currency),
        one_off_amount=Money.of(deal.one_off_amount, deal.currency),
        source=deal.source,
        plan=deal.plan,
        product=deal.product,
        contract_months=deal.contract_months,
        effective_date=deal.effective_date,
        trial_start=deal.trial_start,
        created_on=deal.created_on,
        close_date=deal.close_date,
        closed_on=deal.closed_on,
        lost_reason=deal.lost_reason,
        churn_reason=deal.churn_reason,
        details=deal.details,
    )


def task_out(task: Task) -> TaskOut:
    return TaskOut(
        id=task.pk,
        account_id=task.account_id,
        title=task.title,
        kind=task.kind,
        description=task.description,
        assignee=task.assignee.get_username() if task.assignee else None,
        status=task.status,
        due_on=task.due_on,
        created_at=task.created_at,
        completed_at=task.completed_at,
    )


__all__ = ["money_text"]
