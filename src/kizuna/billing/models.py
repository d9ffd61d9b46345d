"""Billing: the products sold, subscriptions and their items, invoices, billing records, FX, spend.

Billing is the system of record for revenue: MRR is computed from subscription items.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kizuna.core.fields import currency_field, external_id_field, money_field
from kizuna.crm.models import Account


class ProductKind(models.TextChoices):
    PLAN = "plan", _("Base plan")
    ADDON = "addon", _("Add-on")
    SERVICE = "service", _("Professional services")


class Product(models.Model):
    code = models.CharField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=ProductKind.choices)
    is_recurring = models.BooleanField(_("recurring"), default=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return self.name


class PlanTier(models.TextChoices):
    FREE = "free", _("Free")
    STARTER = "starter", _("Starter")
    PROFESSIONAL = "professional", _("Professional")
    ENTERPRISE = "enterprise", _("Enterprise")


class Interval(models.TextChoices):
    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")


class Plan(models.Model):
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="plans"
    )
    code = models.CharField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    tier = models.CharField(_("tier"), max_length=20, choices=PlanTier.choices, blank=True)
    unit_price = money_field(_("list price per unit"))
    currency = currency_field()
    interval = models.CharField(
        _("interval"), max_length=10, choices=Interval.choices, default=Interval.MONTH
    )
    interval_count = models.PositiveSmallIntegerField(_("interval count"), default=1)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")

    def __str__(self) -> str:
        return self.name


class SubscriptionStatus(models.TextChoices):
    TRIALING = "trialing", _("Trialing")
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Past due")
    CANCELED = "canceled", _("Canceled")


class Subscription(models.Model):
    external_id = external_id_field()
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="subscriptions"
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=SubscriptionStatus.choices,
        default=SubscriptionStatus.ACTIVE,
    )
    currency = currency_field()
    started_on = models.DateField(_("started on"))
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    canceled_at = models.DateField(_("cancellation requested on"), null=True, blank=True)
    term_months = models.PositiveSmallIntegerField(
        _("committed term (months)"),
        default=1,
        help_text=_("Length of one committed term; renewals are expected at its end."),
    )
    source = models.CharField(_("source"), max_length=20, blank=True, default="manual")

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")

    def __str__(self) -> str:
        return self.external_id or f"subscription {self.pk}"


class SubscriptionItem(models.Model):
    """One priced line of a subscription; the unit the revenue engine reads (SPEC R1)."""

    external_id = external_id_field()
    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="items",
    )
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT)
    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), null=True, blank=True, on_delete=models.PROTECT
    )
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2, default=1)
    unit_price = money_field(_("unit price per period"))
    currency = currency_field()
    interval = models.CharField(
        _("interval"), max_length=10, choices=Interval.choices, default=Interval.MONTH
    )
    interval_count = models.PositiveSmallIntegerField(_("interval count"), default=1)
    discount_percent = models.DecimalField(
        _("discount %"), max_digits=5, decimal_places=2, default=0
    )
    discount_amount = money_field(_("discount per period"))
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(
        _("end date"), null=True, blank=True, help_text=_("First day not in service.")
    )
    trial_end_date = models.DateField(_("trial end date"), null=True, blank=True)
    recurring = models.BooleanField(_("recurring"), default=True)

    class Meta:
        verbose_name = _("subscription item")
        verbose_name_plural = _("subscription items")
        indexes = [models.Index(fields=["start_date", "end_date"])]

    def __str__(self) -> str:
        return f"{self.product} × {self.quantity}"


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open")
    PAID = "paid", _("Paid")
    UNCOLLECTIBLE = "uncollectible", _("Uncollectible")
    VOID = "void", _("Void")


class Invoice(models.Model):
    external_id = external_id_field()
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="invoices"
    )
    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    issued_on = models.DateField(_("issued on"))
    due_on = models.DateField(_("due on"), null=True, blank=True)
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    amount = money_field(_("amount excluding tax"))
    one_off_amount = money_field(
        _("of which one-off"),
        # Also the database's default: a loader that writes rows without it (the demo data)
        # stores wholly recurring invoices, as a CSV file without the column does.
        db_default=0,
        help_text=_(
            "One-off charges and prorations in the amount (excluding tax); the rest is "
            "recurring revenue."
        ),
    )
    tax = money_field(_("tax"))
    currency = currency_field()
    status = models.CharField(_("status"), max_length=15, choices=InvoiceStatus.choices)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")

    def __str__(self) -> str:
        return self.external_id or f"invoice {self.pk}"


class MrrCategory(models.TextChoices):
    NEW = "new", _("New")
    EXPANSION = "expansion", _("Expansion")
    CONTRACTION = "contraction", _("Contraction")
    CHURNED = "churned", _("Churned")
    REACTIVATION = "reactivation", _("Reactivation")
    RECURRING = "recurring", _("Unchanged")
    ONE_OFF = "one_off", _("One-off")


class BillingStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    INVOICED = "invoiced", _("Invoiced")
    PAID = "paid", _("Paid")
    UNPAID = "unpaid", _("Unpaid")


class BillingRecord(models.Model):
    """What a subscription bills in one month (SPEC R2); generated for the whole term on won."""

    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="billing_records",
    )
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="billing_records",
    )
    target_month = models.DateField(_("target month"), help_text=_("First day of the month."))
    amount = money_field(_("amount"))
    currency = currency_field()
    mrr_category = models.CharField(_("MRR category"), max_length=15, choices=MrrCategory.choices)
    status = models.CharField(
        _("billing status"),
        max_length=10,
        choices=BillingStatus.choices,
        default=BillingStatus.SCHEDULED,
    )
    plan = models.CharField(_("plan"), max_length=50, blank=True, default="")

    class Meta:
        verbose_name = _("billing record")
        verbose_name_plural = _("billing records")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "target_month"], name="one_billing_record_per_month"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.target_month:%Y-%m}"


class FxRate(models.Model):
    """Units of the reporting currency per one unit of ``currency``, from ``date`` on."""

    date = models.DateField(_("date"))
    currency = currency_field()
    rate = models.DecimalField(_("rate"), max_digits=20, decimal_places=8)

    class Meta:
        verbose_name = _("FX rate")
        verbose_name_plural = _("FX rates")
        constraints = [
            models.UniqueConstraint(fields=["date", "currency"], name="one_rate_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.date} {self.rate}"


class MarketingSpend(models.Model):
    """Sales and marketing spend per month and channel, the numerator of CAC."""

    month = models.DateField(_("month"), help_text=_("First day of the month."))
    channel = models.CharField(_("channel"), max_length=50)
    amount = money_field(_("amount"))
    currency = currency_field()

    class Meta:
        verbose_name = _("sales and marketing spend")
        verbose_name_plural = _("sales and marketing spend")
        constraints = [
            models.UniqueConstraint(fields=["month", "channel"], name="one_spend_per_channel_month")
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.month:%Y-%m}"


# --- Results written by the revenue recompute (pages and the API read these, never the engine)


class CustomerMrr(models.Model):
    """One customer's month-end MRR in the reporting currency and its movement vs last month."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="mrr_months"
    )
    month = models.DateField(_("month"))
    mrr = money_field(_("MRR"))
    movement = models.CharField(_("movement"), max_length=15)
    delta = money_field(_("change"))
    fx = money_field(_("FX effect"))

    class Meta:
        verbose_name = _("customer MRR")
        verbose_name_plural = _("customer MRR")
        constraints = [
            models.UniqueConstraint(fields=["account", "month"], name="one_mrr_per_customer_month")
        ]
        # A month's customers by MRR, with the account: the account list's MRR order and a
        # book's customers of the month are read from this index alone.
        indexes = [models.Index(fields=["month", "mrr", "account"])]

    def __str__(self) -> str:
        return f"{self.account} {self.month:%Y-%m}"


class ProductMrr(models.Model):
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="product_mrr"
    )
    product = models.CharField(_("product"), max_length=50)
    month = models.DateField(_("month"))
    mrr = money_field(_("MRR"))
    movement = models.CharField(_("movement"), max_length=15, blank=True, default="")
    delta = money_field(_("change"))

    class Meta:
        verbose_name = _("product MRR")
        verbose_name_plural = _("product MRR")
        indexes = [models.Index(fields=["month", "account"])]

    def __str__(self) -> str:
        return f"{self.account} {self.product} {self.month:%Y-%m}"


class PeriodKind(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")


class RevenueKpi(models.Model):
    """All revenue KPIs of one period; values are strings of exact decimals (or null)."""

    period_kind = models.CharField(_("period"), max_length=10, choices=PeriodKind.choices)
    period_start = models.DateField(_("period start"))
    values = models.JSONField(_("values"), default=dict)

    class Meta:
        verbose_name = _("revenue KPIs")
        verbose_name_plural = _("revenue KPIs")
        constraints = [
            models.UniqueConstraint(fields=["period_kind", "period_start"], name="one_kpi_row")
        ]
        ordering = ["period_kind", "period_start"]

    def __str__(self) -> str:
        return f"{self.period_kind} {self.period_start}"


class CohortCell(models.Model):
    cohort = models.DateField(_("cohort (first paid month)"))
    months_since = models.PositiveSmallIntegerField(_("months since start"))
    customers = models.PositiveIntegerField(_("customers"))
    mrr = money_field(_("MRR"))
    logo_retention = models.DecimalField(
        _("logo retention"), max_digits=9, decimal_places=6, null=True
    )
    mrr_retention = models.DecimalField(
        _("MRR retention"), max_digits=9, decimal_places=6, null=True
    )

    class Meta:
        verbose_name = _("cohort cell")
        verbose_name_plural = _("cohort cells")
        constraints = [
            models.UniqueConstraint(fields=["cohort", "months_since"], name="one_cohort_cell")
        ]

    def __str__(self) -> str:
        return f"{self.cohort:%Y-%m} +{self.months_since}"
