from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integrations")

    def ready(self):
        from chargers.models import Vendor
        from chargers.vendor import registry
        from integrations import checks  # noqa: F401  (registers the settings checks)
        from integrations.inbox import inbound_processor_register
        from integrations.schedules import schedules_ensure
        from integrations.tomda.adapter import TomdaAdapter
        from integrations.tomda.push import tomda_push_process

        # One adapter and one push processor per vendor package; domain code finds the adapter by
        # the charger's vendor code.
        registry.register(Vendor.TOMDA, TomdaAdapter)
        inbound_processor_register(Vendor.TOMDA, tomda_push_process)
        # The periodic tasks exist because the code says so: every migrate creates or corrects them.
        post_migrate.connect(schedules_ensure, sender=self, dispatch_uid="integrations_schedules_ensure")
