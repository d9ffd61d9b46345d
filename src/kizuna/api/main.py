"""The REST API: one NinjaAPI with token auth, JSON errors and its OpenAPI description."""

from __future__ import annotations

from ninja import NinjaAPI

from kizuna.api import (
    routes_billing,
    routes_crm,
    routes_deals,
    routes_forecast,
    routes_playbooks,
    routes_predictions,
    routes_results,
    routes_signals,
    routes_usage,
)
from kizuna.api.auth import TokenAuth
from kizuna.api.errors import install_error_handlers

api = NinjaAPI(
    title="Kizuna API",
    version="1",
    description=(
        "Customers, subscriptions, deals, usage and revenue results. Authenticate with "
        "'Authorization: Bearer <token>' (create one with 'kizuna api-token create USER')."
    ),
    auth=TokenAuth(),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_error_handlers(api)
for router in (
    routes_crm.router,
    routes_billing.router,
    routes_deals.router,
    routes_usage.router,
    routes_results.router,
    routes_forecast.router,
    routes_playbooks.router,
    routes_signals.router,
    routes_predictions.router,
):
    api.add_router("", router)
