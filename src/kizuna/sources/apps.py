from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SourcesConfig(AppConfig):
    name = "kizuna.sources"
    label = "sources"
    verbose_name = _("Computations")
