"""The integrations' figures on the admin's dashboard (backoffice/adminkit/dashboard.py), and their panel:
deliveries given up (the outbox's dead letters) and pushes not applied (the inbox's backlog and failures).

The tables grow to millions of rows, so each count stops past `COUNT_LIMIT` and reads "more than"; each is
served by an index led by the status.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from backoffice.adminkit.dashboard import Panel, panel_register
from integrations.inbox import inbox_backlog
from integrations.inbox.worker import BACKLOG_COUNT_LIMIT, Backlog
from integrations.models import DeliveryStatus, InboundMessage, InboundStatus, OutboundDelivery

COUNT_LIMIT = BACKLOG_COUNT_LIMIT


@dataclass(frozen=True)
class Capped:
    """A count that stops past `COUNT_LIMIT`."""

    counted: int

    @property
    def more_than_counted(self) -> bool:
        return self.counted > COUNT_LIMIT

    @property
    def limit(self) -> int:
        return COUNT_LIMIT

    def __bool__(self) -> bool:
        return self.counted > 0


def _capped(queryset) -> Capped:
    return Capped(queryset.values("pk")[: COUNT_LIMIT + 1].count())


@dataclass(frozen=True)
class IntegrationsAttention:
    dead_deliveries: Capped
    backlog: Backlog  # pushes waiting for the inbox worker, and the oldest of them
    failed_pushes: Capped


def integrations_attention() -> IntegrationsAttention:
    """Dead letters of the outbox and the inbox's backlog and failed pushes, each counted up to a limit."""
    return IntegrationsAttention(
        dead_deliveries=_capped(OutboundDelivery.objects.filter(status=DeliveryStatus.DEAD)),
        backlog=inbox_backlog(),
        failed_pushes=_capped(InboundMessage.objects.filter(status=InboundStatus.FAILED)),
    )


panel_register(Panel(
    name="integrations-attention",
    title=_("Deliveries and pushes that need attention"),
    template="admin/dashboard/integrations_attention.html",
    models=("integrations.outbounddelivery", "integrations.inboundmessage"),
    figures=lambda: {"attention": integrations_attention(), "dead": DeliveryStatus.DEAD,
                     "received": InboundStatus.RECEIVED, "failed": InboundStatus.FAILED},
    order=40,
))
