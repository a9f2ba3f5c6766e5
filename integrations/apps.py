from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integrations")

    def ready(self):
        # Vendor adapters register themselves in chargers.vendor.registry here, one per vendor
        # package, as each vendor integration is added.
        pass
