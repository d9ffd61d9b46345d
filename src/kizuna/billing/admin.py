from django.contrib import admin

from kizuna.billing import models


@admin.register(models.Product)
class ProductAdmin(admin.ModelAdmin[models.Product]):
    list_display = ["code", "name", "kind", "is_recurring"]
    list_filter = ["kind", "is_recurring"]
    search_fields = ["code", "name"]


@admin.register(models.Plan)
class PlanAdmin(admin.ModelAdmin[models.Plan]):
    list_display = ["code", "name", "product", "tier", "unit_price", "currency", "interval"]
    list_filter = ["tier", "interval", "currency"]
    search_fields = ["code", "name"]


class SubscriptionItemInline(admin.TabularInline[models.SubscriptionItem, models.Subscription]):
    model = models.SubscriptionItem
    extra = 0
    fields = [
        "product",
        "plan",
        "quantity",
        "unit_price",
        "currency",
        "interval",
        "interval_count",
        "discount_percent",
        "start_date",
        "end_date",
        "trial_end_date",
        "recurring",
    ]


@admin.register(models.Subscription)
class SubscriptionAdmin(admin.ModelAdmin[models.Subscription]):
    list_display = ["__str__", "account", "status", "currency", "started_on", "ended_on"]
    list_filter = ["status", "currency", "source"]
    search_fields = ["external_id", "account__name"]
    autocomplete_fields = ["account"]
    inlines = [SubscriptionItemInline]


@admin.register(models.SubscriptionItem)
class SubscriptionItemAdmin(admin.ModelAdmin[models.SubscriptionItem]):
    list_display = [
        "subscription",
        "product",
        "plan",
        "quantity",
        "unit_price",
        "currency",
        "interval",
        "start_date",
        "end_date",
    ]
    list_filter = ["interval", "currency", "recurring", "product"]
    search_fields = ["external_id", "subscription__account__name"]


@admin.register(models.Invoice)
class InvoiceAdmin(admin.ModelAdmin[models.Invoice]):
    list_display = ["external_id", "account", "issued_on", "amount", "currency", "status"]
    list_filter = ["status", "currency"]
    search_fields = ["external_id", "account__name"]
    date_hierarchy = "issued_on"


@admin.register(models.BillingRecord)
class BillingRecordAdmin(admin.ModelAdmin[models.BillingRecord]):
    list_display = ["account", "target_month", "amount", "currency", "mrr_category", "status"]
    list_filter = ["status", "mrr_category"]
    search_fields = ["account__name"]
    date_hierarchy = "target_month"


@admin.register(models.FxRate)
class FxRateAdmin(admin.ModelAdmin[models.FxRate]):
    list_display = ["date", "currency", "rate"]
    list_filter = ["currency"]
    date_hierarchy = "date"


@admin.register(models.MarketingSpend)
class MarketingSpendAdmin(admin.ModelAdmin[models.MarketingSpend]):
    list_display = ["month", "channel", "amount", "currency"]
    list_filter = ["channel"]
    date_hierarchy = "month"
