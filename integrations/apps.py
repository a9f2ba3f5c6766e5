from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    """The inbox, the outbox and the HTTP client base every counterparty shares.

    Each counterparty is an app of its own under this folder (`integrations/counterparty.py`), which
    registers its adapter, inbox protocol, handlers and checks when it is ready.
    """

    name = "integrations"
    verbose_name = _("Integrations")

    def ready(self):
        from django.db.models import Q

        from backoffice.partitions import partition_register
        from integrations import checks  # noqa: F401  (registers the shared settings checks)
        from integrations.models import InboundStatus
        from integrations.schedules import schedules_ensure

        # Pushes not applied yet, and failed ones awaiting a replay, outlive their day's retention.
        partition_register(label="integrations.InboundMessage", column="received_day",
                           retention_setting="INBOX_RETENTION_DAYS",
                           hold=Q(status__in=[InboundStatus.RECEIVED, InboundStatus.FAILED]))

        # The periodic tasks exist because the code says so: every migrate creates or corrects them.
        post_migrate.connect(schedules_ensure, sender=self, dispatch_uid="integrations_schedules_ensure")
