from django.contrib import admin

from kizuna.usage import models


@admin.register(models.UsageDaily)
class UsageDailyAdmin(admin.ModelAdmin[models.UsageDaily]):
    list_display = ["account", "date", "logins", "active_users", "seats_in_use", "api_calls"]
    search_fields = ["account__name"]
    date_hierarchy = "date"
    raw_id_fields = ["account"]


@admin.register(models.Feature)
class FeatureAdmin(admin.ModelAdmin[models.Feature]):
    list_display = ["key", "name", "core", "enterprise", "released_on"]
    list_filter = ["core", "enterprise"]
    search_fields = ["key", "name"]


@admin.register(models.FeatureUsage)
class FeatureUsageAdmin(admin.ModelAdmin[models.FeatureUsage]):
    list_display = ["account", "date", "feature", "uses"]
    list_filter = ["feature"]
    date_hierarchy = "date"
    raw_id_fields = ["account"]


@admin.register(models.Ticket)
class TicketAdmin(admin.ModelAdmin[models.Ticket]):
    list_display = ["external_id", "account", "type", "severity", "opened_at", "resolved_at"]
    list_filter = ["type", "severity"]
    search_fields = ["external_id", "subject", "account__name"]
    date_hierarchy = "opened_at"
    raw_id_fields = ["account"]


@admin.register(models.NpsResponse)
class NpsResponseAdmin(admin.ModelAdmin[models.NpsResponse]):
    list_display = ["account", "contact", "responded_on", "score"]
    list_filter = ["score"]
    search_fields = ["account__name", "comment"]
    date_hierarchy = "responded_on"
    raw_id_fields = ["account", "contact"]


@admin.register(models.SuccessGoal)
class SuccessGoalAdmin(admin.ModelAdmin[models.SuccessGoal]):
    list_display = ["account", "goal", "target", "set_on", "achieved_on"]
    search_fields = ["external_id", "goal", "account__name"]
    date_hierarchy = "achieved_on"
    raw_id_fields = ["account"]
