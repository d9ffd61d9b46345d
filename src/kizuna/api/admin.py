"""API tokens are created with ``kizuna api-token``; webhooks are set up and watched here."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from kizuna.api.models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    list_display = ("url", "events", "active", "created_at")
    list_filter = ("active",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    """The delivery log: read only, it records what happened."""

    list_display = (
        "created_at",
        "event",
        "endpoint",
        "status",
        "attempts",
        "response_code",
        "next_attempt_at",
    )
    list_filter = ("status", "event")
    search_fields = ("error",)
    readonly_fields = (
        "endpoint",
        "event",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "response_code",
        "error",
        "created_at",
        "delivered_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
