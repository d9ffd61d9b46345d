"""Back-office editing of rules and settings; alerts and logs are read-only records."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from kizuna.playbooks.models import (
    ActionLog,
    Alert,
    DetectedSignal,
    Escalation,
    Notification,
    PlaybookSettings,
    Rule,
    RunLog,
)
from kizuna.playbooks.rules import RuleSpec


class RuleForm(forms.ModelForm[Rule]):
    class Meta:
        model = Rule
        fields = [
            "key",
            "name",
            "description",
            "enabled",
            "priority",
            "trigger_kind",
            "trigger",
            "conditions",
            "actions",
            "owner_role",
            "max_enrolments",
            "enrolment_window_days",
            "daily_cap_per_owner",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        spec = RuleSpec(
            key=data.get("key") or "",
            name=data.get("name") or "",
            trigger_kind=data.get("trigger_kind") or "",
            trigger=data.get("trigger") or {},
            conditions=data.get("conditions") or {},
            actions=data.get("actions") or [],
            owner_role=data.get("owner_role") or "cs_owner",
            max_enrolments=data.get("max_enrolments"),
            daily_cap_per_owner=data.get("daily_cap_per_owner"),
        )
        problems = spec.problems()
        if problems:
            raise forms.ValidationError(problems)
        return data


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin[Rule]):
    form = RuleForm
    list_display = ["key", "name", "enabled", "trigger_kind", "priority", "is_default"]
    list_filter = ["enabled", "trigger_kind", "is_default"]
    list_editable = ["enabled"]
    search_fields = ["key", "name"]


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["account", "rule", "signal", "level", "occurrence", "status", "created_at"]
    list_filter = ["status", "signal", "level", "rule"]
    search_fields = ["account__name", "occurrence"]
    raw_id_fields = ["account", "owner", "tasks"]


@admin.register(DetectedSignal)
class DetectedSignalAdmin(ReadOnlyAdmin):
    list_display = ["as_of", "account", "signal", "level", "occurred_on"]
    list_filter = ["as_of", "signal", "level"]
    search_fields = ["account__name"]
    raw_id_fields = ["account", "run"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["user", "title", "created_at", "read_at"]
    raw_id_fields = ["alert"]


@admin.register(RunLog)
class RunLogAdmin(ReadOnlyAdmin):
    list_display = ["as_of", "started_at", "finished_at", "status", "message"]
    list_filter = ["status"]


@admin.register(ActionLog)
class ActionLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "rule", "account", "action", "outcome", "message"]
    list_filter = ["action", "outcome", "rule"]
    raw_id_fields = ["run", "alert", "account"]


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin):
    list_display = ["account", "to", "deadline", "status", "escalated_to", "escalated_at"]
    list_filter = ["status"]
    raw_id_fields = ["account", "alert", "task", "lead_task"]


@admin.register(PlaybookSettings)
class PlaybookSettingsAdmin(admin.ModelAdmin[PlaybookSettings]):
    list_display = ["__str__", "calendar_country", "daily_cap_per_owner"]
