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
        from integrations.inbox import inbox_protocol_register
        from integrations.schedules import schedules_ensure
        from integrations.tomda.adapter import TomdaAdapter
        from integrations.tomda.inbox import TomdaInbox

        # One adapter and one inbox protocol per vendor package; domain code finds the adapter by
        # the charger's vendor code.
        registry.register(Vendor.TOMDA, TomdaAdapter)
        inbox_protocol_register(TomdaInbox())
        # The periodic tasks exist because the code says so: every migrate creates or corrects them.
        post_migrate.connect(schedules_ensure, sender=self, dispatch_uid="integrations_schedules_ensure")
