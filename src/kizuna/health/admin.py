from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from kizuna.health.models import HealthOverride, HealthScore, Scorecard


@admin.register(Scorecard)
class ScorecardAdmin(admin.ModelAdmin[Scorecard]):
    list_display = ["name", "is_default", "touch_tier", "updated_at"]
    list_filter = ["is_default", "touch_tier"]
    search_fields = ["name"]


@admin.register(HealthScore)
class HealthScoreAdmin(admin.ModelAdmin[HealthScore]):
    list_display = ["account", "scorecard", "date", "score", "status", "coverage"]
    list_filter = ["scorecard", "status", "date"]
    search_fields = ["account__name"]
    date_hierarchy = "date"
    raw_id_fields = ["account"]
    readonly_fields = ["components", "missing"]


@admin.register(HealthOverride)
class HealthOverrideAdmin(admin.ModelAdmin[HealthOverride]):
    list_display = ["account", "status", "score", "author", "expires_on", "created_at"]
    list_filter = ["status"]
    search_fields = ["account__name", "reason"]
    raw_id_fields = ["account"]
    # The author is who made the override, not a field to fill in.
    exclude = ["author"]

    def save_model(
        self, request: HttpRequest, obj: HealthOverride, form: Any, change: bool
    ) -> None:
        if not change:
            obj.author = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
