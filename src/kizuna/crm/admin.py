from django.contrib import admin

from kizuna.crm import models


@admin.register(models.Team)
class TeamAdmin(admin.ModelAdmin[models.Team]):
    list_display = ["name", "lead"]
    search_fields = ["name"]


@admin.register(models.Profile)
class ProfileAdmin(admin.ModelAdmin[models.Profile]):
    list_display = ["user", "role", "team"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "user__email"]


class ContactInline(admin.TabularInline[models.Contact, models.Account]):
    model = models.Contact
    extra = 0
    fields = ["name", "email", "role", "status", "status_changed_on"]


@admin.register(models.Account)
class AccountAdmin(admin.ModelAdmin[models.Account]):
    list_display = [
        "name",
        "status",
        "plan",
        "touch_tier",
        "lifecycle_stage",
        "owner",
        "cs_owner",
        "renewal_date",
    ]
    list_filter = ["status", "touch_tier", "lifecycle_stage", "plan", "industry", "country"]
    search_fields = ["name", "external_id"]
    autocomplete_fields = ["owner", "cs_owner"]
    date_hierarchy = "created_at"
    inlines = [ContactInline]


@admin.register(models.Contact)
class ContactAdmin(admin.ModelAdmin[models.Contact]):
    list_display = ["name", "account", "role", "status", "status_changed_on"]
    list_filter = ["role", "status"]
    search_fields = ["name", "email", "account__name"]
    autocomplete_fields = ["account"]


@admin.register(models.Activity)
class ActivityAdmin(admin.ModelAdmin[models.Activity]):
    list_display = ["occurred_at", "type", "account", "subject", "author"]
    list_filter = ["type"]
    search_fields = ["subject", "account__name"]
    autocomplete_fields = ["account", "contact"]
    date_hierarchy = "occurred_at"


@admin.register(models.Task)
class TaskAdmin(admin.ModelAdmin[models.Task]):
    list_display = ["title", "account", "assignee", "status", "due_on", "kind"]
    list_filter = ["status", "kind"]
    search_fields = ["title", "account__name"]
    autocomplete_fields = ["account", "assignee"]


@admin.register(models.HandoffRecord)
class HandoffRecordAdmin(admin.ModelAdmin[models.HandoffRecord]):
    list_display = ["account", "deal", "completed_at", "created_at"]
    search_fields = ["account__name"]
    autocomplete_fields = ["account"]


@admin.register(models.LifecycleStageChange)
class LifecycleStageChangeAdmin(admin.ModelAdmin[models.LifecycleStageChange]):
    list_display = ["account", "from_stage", "to_stage", "changed_at", "changed_by"]
    list_filter = ["to_stage"]
    search_fields = ["account__name"]


@admin.register(models.OnboardingItem)
class OnboardingItemAdmin(admin.ModelAdmin[models.OnboardingItem]):
    list_display = ["account", "order", "title", "due_on", "done_on"]
    search_fields = ["account__name", "title"]


@admin.register(models.Qbr)
class QbrAdmin(admin.ModelAdmin[models.Qbr]):
    list_display = ["account", "quarter", "held_on"]
    search_fields = ["account__name"]


@admin.register(models.ChurnRecord)
class ChurnRecordAdmin(admin.ModelAdmin[models.ChurnRecord]):
    list_display = ["account", "churned_on", "reason"]
    list_filter = ["reason"]
    search_fields = ["account__name", "detail"]
    date_hierarchy = "churned_on"


@admin.register(models.Segment)
class SegmentAdmin(admin.ModelAdmin[models.Segment]):
    list_display = ["name", "shared", "owner", "updated_at"]
    list_filter = ["shared"]
    search_fields = ["name", "owner__username"]
    autocomplete_fields = ["owner"]
