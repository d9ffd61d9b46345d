from django.contrib.auth import views as auth_views
from django.urls import path

from kizuna.web import (
    views_account,
    views_accounts,
    views_assets,
    views_cs,
    views_executive,
    views_home,
    views_saasup,
    views_sales,
    views_segments,
)

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views_home.home, name="home"),
    path("executive/", views_executive.executive, name="executive"),
    path("executive/report/", views_executive.board_report, name="board_report"),
    path("sales/", views_sales.sales, name="sales"),
    path("cs/", views_cs.cs, name="cs"),
    path("contracts/", views_saasup.saasup, name="saasup"),
    path("accounts/", views_accounts.accounts, name="accounts"),
    path("accounts/segments/", views_segments.segments, name="segments"),
    path("accounts/segments/save/", views_segments.save_segment, name="segment_save"),
    path(
        "accounts/segments/<int:pk>/delete/",
        views_segments.delete_segment,
        name="segment_delete",
    ),
    path("accounts/<int:pk>/", views_account.account, name="account"),
    path(
        "accounts/<int:pk>/activities/",
        views_account.log_activity,
        name="account_log_activity",
    ),
    path("accounts/<int:pk>/tasks/", views_account.create_task, name="account_create_task"),
    path(
        "accounts/<int:pk>/health-override/",
        views_account.override_health,
        name="account_override_health",
    ),
    path(
        "accounts/<int:pk>/health-override/clear/",
        views_account.clear_health_override,
        name="account_clear_health_override",
    ),
    path("assets/plotly-<str:version>.min.js", views_assets.plotly_js, name="plotly_js"),
]
