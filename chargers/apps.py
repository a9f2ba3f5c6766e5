from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChargersConfig(AppConfig):
    name = "chargers"
    verbose_name = _("Chargers")
