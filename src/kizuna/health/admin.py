from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kizuna.health.actions import ActionError, check_override, clear_override, override_score
from kizuna.health.models import AccountSegment, HealthOverride, HealthScore, Scorecard


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


@admin.register(AccountSegment)
class AccountSegmentAdmin(admin.ModelAdmin[AccountSegment]):
    list_display = [
        "account",
        "touch_tier",
        "mrr",
        "rfm",
        "days_since_last_use",
        "products",
        "plan",
        "ltv",
        "health_score",
        "health_status",
    ]
    list_filter = ["touch_tier", "health_status", "recency_score", "frequency_score", "plan"]
    search_fields = ["account__name"]
    # Segments are computed; they change only with a health recompute.
    readonly_fields = [field.name for field in AccountSegment._meta.fields]


class HealthOverrideForm(forms.ModelForm[HealthOverride]):
    class Meta:
        model = HealthOverride
        fields = ["account", "score", "status", "reason", "expires_on"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Left empty, the status follows the score's band.
        self.fields["status"].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk is None:
            try:
                check_override(
                    data.get("score"),
                    data.get("reason") or "",
                    data.get("expires_on"),
                    data.get("status") or None,
                )
            except ActionError as error:
                raise ValidationError(str(error)) from None
        return data


@admin.register(HealthOverride)
class HealthOverrideAdmin(admin.ModelAdmin[HealthOverride]):
    form = HealthOverrideForm
    list_display = ["account", "status", "score", "author", "expires_on", "created_at"]
    list_filter = ["status"]
    search_fields = ["account__name", "reason"]
    raw_id_fields = ["account"]
    actions = ["end_overrides"]

    def save_model(
        self, request: HttpRequest, obj: HealthOverride, form: Any, change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # A new override goes through the action, which sets the author and the status.
        created = override_score(
            obj.account,
            obj.score,
            obj.reason,
            request.user,  # type: ignore[arg-type]
            obj.expires_on,
            status=obj.status or None,
        )
        obj.pk = created.pk
        obj.status = created.status
        obj.author = created.author
        obj.created_at = created.created_at

    @admin.action(description=_("End the live overrides of the selected accounts today"))
    def end_overrides(self, request: HttpRequest, queryset: QuerySet[HealthOverride]) -> None:
        ended = 0
        for account in {override.account for override in queryset.select_related("account")}:
            ended += clear_override(account)
        self.message_user(
            request,
            ngettext("%(count)d override ended.", "%(count)d overrides ended.", ended)
            % {"count": ended},
            messages.SUCCESS,
        )
