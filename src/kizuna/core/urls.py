from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("kizuna.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("deals/", include("kizuna.pipeline.urls")),
    path("data/", include("kizuna.ingest.urls")),
    path("playbooks/", include("kizuna.playbooks.urls")),
    path("", include("kizuna.web.urls")),
]
