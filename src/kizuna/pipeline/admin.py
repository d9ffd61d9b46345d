from django.contrib import admin

from kizuna.pipeline import models


class StageInline(admin.TabularInline[models.Stage, models.Pipeline]):
    model = models.Stage
    extra = 0
    fields = [
        "order",
        "key",
        "name",
        "probability",
        "outcome",
        "required_fields",
        "days_before_renewal",
    ]


@admin.register(models.Pipeline)
class PipelineAdmin(admin.ModelAdmin[models.Pipeline]):
    list_display = ["name", "key", "kind", "order"]
    inlines = [StageInline]


class DealStageChangeInline(admin.TabularInline[models.DealStageChange, models.Deal]):
    model = models.DealStageChange
    extra = 0
    readonly_fields = ["from_stage", "to_stage", "changed_at", "changed_by"]
    can_delete = False


@admin.register(models.Deal)
class DealAdmin(admin.ModelAdmin[models.Deal]):
    list_display = [
        "title",
        "account",
        "pipeline",
        "stage",
        "status",
        "amount_mrr",
        "currency",
        "owner",
        "close_date",
    ]
    list_filter = ["pipeline", "status", "source", "lost_reason"]
    search_fields = ["title", "external_id", "account__name"]
    autocomplete_fields = ["account", "owner"]
    date_hierarchy = "close_date"
    inlines = [DealStageChangeInline]
