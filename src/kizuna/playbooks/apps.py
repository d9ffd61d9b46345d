from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlaybooksConfig(AppConfig):
    name = "kizuna.playbooks"
    label = "playbooks"
    verbose_name = _("Playbooks")
    default_auto_field = "django.db.models.BigAutoField"
