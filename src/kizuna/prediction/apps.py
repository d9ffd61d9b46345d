from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PredictionConfig(AppConfig):
    name = "kizuna.prediction"
    label = "prediction"
    verbose_name = _("Prediction")
