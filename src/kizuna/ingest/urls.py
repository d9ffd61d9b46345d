from django.urls import path

from kizuna.ingest import views

app_name = "data"

urlpatterns = [
    path("reconcile/", views.reconciliation, name="reconcile"),
    path("import/", views.upload, name="import"),
]
