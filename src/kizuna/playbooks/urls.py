from django.urls import path

from kizuna.playbooks import views

app_name = "playbooks"

urlpatterns = [
    path("", views.my_work, name="my_work"),
    path("risk/", views.risk_list, name="risk_list"),
    path("escalations/", views.escalations, name="escalations"),
    path("rules/", views.rule_list, name="rules"),
    path("alerts/<int:pk>/status/", views.alert_status, name="alert_status"),
    path("notifications/read/", views.read_notifications, name="read_notifications"),
    path("churns/<int:pk>/", views.churn_review, name="churn_review"),
]
