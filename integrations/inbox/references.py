"""What a push refers to, found or refused: the charger, connector and order lookups every counterparty shares.

Two halves. The receiver's checks (`check_charger`, `check_order`) are cheap: what was seen to exist
is remembered for a while (`Known`), so a steady stream of pushes about the same chargers and sessions
costs no query, and an order number seen not to be ours is refused without a lookup for a minute.
The worker's lookups (`charger`, `connector`, `order`) read the database every time, inside the
worker's transaction, so a stale memo never lets bad news in. Both refuse with `InboundRejected`
naming what is missing and what an operator can do about it.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from chargers.models import Charger, Connector
from integrations.models import InboundMessage, InboundStatus, RejectReason
from orders.models import Order

from .known import Known
from .protocol import InboundRejected


def named(field: str, message: str) -> str:
    """`message` led by the counterparty's name of the field at fault, when there is one."""
    return _("%(field)s: %(message)s") % {"field": field, "message": message} if field else message


class References:
    """The lookups of one counterparty's pushes (`vendor`, a chargers Vendor value).

    `describing_kind` is the kind of push in which a charger describes itself: a charger we lack that
    has such a push waiting for the worker is about to exist (the worker creates it, awaiting a
    station, before it applies anything received later), so news about it is accepted meanwhile.
    `charger_field`, `connector_field` and `order_field` are the counterparty's names of the fields that
    carry a charger's serial, a connector's number and our order number: each refusal leads with one.
    """

    def __init__(self, vendor: str, *, describing_kind: str = "", charger_field: str = "",
                 connector_field: str = "", order_field: str = ""):
        self.vendor = vendor
        self.describing_kind = describing_kind
        self.charger_field = charger_field
        self.connector_field = connector_field
        self.order_field = order_field
        self._connectors = Known(ttl=300)  # serial → connector numbers
        self._orders = Known(ttl=300)  # order number → charger serial
        # Order numbers that are not ours (another platform's session on a charger we share). Ours exist
        # before the charger hears of them, so none of ours is ever in here.
        self._foreign_orders = Known(ttl=60)

    # --- refusals, naming the counterparty's field ------------------------------------------------------------

    def unknown_charger(self, serial: str) -> InboundRejected:
        return InboundRejected(
            named(self.charger_field, _(
                "Charger %(serial)s is not in our back office; import it into a station "
                "(Chargers → Import chargers from the vendor) and the next push will be accepted."
            ) % {"serial": serial}),
            reason=RejectReason.UNKNOWN_CHARGER,
        )

    def unknown_connector(self, serial: str, number: int) -> InboundRejected:
        return InboundRejected(
            named(self.connector_field, _("Charger %(serial)s has no connector %(number)s in our back office.")
                  % {"serial": serial, "number": number}),
            reason=RejectReason.UNKNOWN_CONNECTOR,
        )

    def unknown_order(self, order_no: str, serial: str | None) -> InboundRejected:
        where = _(" on charger %(serial)s") % {"serial": serial} if serial is not None else ""
        return InboundRejected(
            named(self.order_field, _("Order %(order)s%(where)s is not one of ours.")
                  % {"order": order_no, "where": where}),
            reason=RejectReason.UNKNOWN_ORDER,
        )

    # --- the worker's lookups: the database, every time ----------------------------------------------------

    def charger(self, serial: str) -> Charger:
        charger = Charger.objects.filter(vendor=self.vendor, serial=serial).select_related("station").first()
        if charger is None:
            raise self.unknown_charger(serial)
        return charger

    def connector(self, charger: Charger, number: int) -> Connector:
        connector = Connector.objects.filter(charger=charger, number=number).first()
        if connector is None:
            raise self.unknown_connector(charger.serial, number)
        return connector

    def order(self, order_no: str, *, charger: Charger | None = None) -> Order:
        order = (
            Order.objects.filter(order_no=order_no, charger__vendor=self.vendor)
            .select_related("charger", "connector", "tariff_version")
            .first()
        )
        if order is None or (charger is not None and order.charger_id != charger.pk):
            raise self.unknown_order(order_no, charger.serial if charger is not None else None)
        return order

    # --- the receiver's checks: memos first ----------------------------------------------------------------

    def _connector_numbers(self, serial: str) -> frozenset[int] | None:
        numbers = self._connectors.get(serial)
        if numbers is None:
            pk = Charger.objects.filter(vendor=self.vendor, serial=serial).values_list("pk", flat=True).first()
            if pk is None:
                return None
            numbers = frozenset(Connector.objects.filter(charger_id=pk).values_list("number", flat=True))
            self._connectors.put(serial, numbers)
        return numbers

    def _described_not_yet_applied(self, serial: str) -> bool:
        return bool(self.describing_kind) and InboundMessage.objects.filter(
            vendor=self.vendor, charger_serial=serial, kind=self.describing_kind, status=InboundStatus.RECEIVED
        ).exists()

    def check_charger(self, serial: str, numbers=()) -> None:
        """Refuse a push about a charger we lack, or about connectors it does not have."""
        known = self._connector_numbers(serial)
        if known is None:
            if self._described_not_yet_applied(serial):
                return  # its connectors are checked when the worker applies the push
            raise self.unknown_charger(serial)
        missing = [number for number in numbers if number not in known]
        if missing:
            self._connectors.forget(serial)  # a connector may have been added since: ask again
            known = self._connector_numbers(serial) or frozenset()
            for number in missing:
                if number not in known:
                    raise self.unknown_connector(serial, number)

    def check_order(self, order_no: str, serial: str | None) -> None:
        """Refuse a push about an order that is not ours, or not on the charger `serial` (when given)."""
        owner = self._orders.get(order_no)
        if owner is None:
            if self._foreign_orders.get(order_no):
                raise self.unknown_order(order_no, serial)
            found = (
                Order.objects.filter(order_no=order_no, charger__vendor=self.vendor)
                .values_list("charger__serial", flat=True)
                .first()
            )
            if found is None:
                self._foreign_orders.put(order_no, True)
                raise self.unknown_order(order_no, serial)
            owner = found
            self._orders.put(order_no, owner)
        if serial is not None and owner != serial:
            raise self.unknown_order(order_no, serial)
