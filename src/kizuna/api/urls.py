from django.urls import path

from kizuna.api.main import api

urlpatterns = [path("", api.urls)]
