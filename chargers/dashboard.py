"""The chargers' figures on the admin's dashboard (backoffice/adminkit/dashboard.py), and their panel:
what needs an operator now. Chargers are thousands of rows, not millions: one aggregate over them and one
count over the connectors' status index."""

from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from backoffice.adminkit.dashboard import Panel, panel_register
from chargers.models import Charger, Connector, ConnectorStatus


@dataclass(frozen=True)
class ChargerAttention:
    offline: int  # chargers their vendor reports offline
    faulty: int  # chargers reporting a fault as a whole
    faulty_connectors: int  # connectors faulty (a fault event of theirs or of their charger is happening)
    awaiting_station: int  # chargers found in a vendor's pushes and not placed yet: nothing sells on them


def chargers_attention() -> ChargerAttention:
    """How many chargers and connectors are offline, faulty or unplaced now."""
    counts = Charger.objects.aggregate(
        offline=Count("pk", filter=Q(status=ConnectorStatus.OFFLINE)),
        faulty=Count("pk", filter=Q(status=ConnectorStatus.FAULT)),
        awaiting_station=Count("pk", filter=Q(station__isnull=True)),
    )
    return ChargerAttention(
        faulty_connectors=Connector.objects.filter(status=ConnectorStatus.FAULT).count(), **counts
    )


panel_register(Panel(
    name="chargers-attention",
    title=_("Chargers that need attention"),
    template="admin/dashboard/chargers_attention.html",
    models=("chargers.charger", "chargers.connector"),
    figures=lambda: {"attention": chargers_attention(), "offline": ConnectorStatus.OFFLINE,
                     "fault": ConnectorStatus.FAULT},
    order=30,
))
