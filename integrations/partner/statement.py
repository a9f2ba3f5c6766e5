"""The 2017 partners' side of the daily close: the final callbacks they acknowledged (`partnerkit.statement`).

A final callback's order detail is read back exactly: `power` (kWh, three decimals) to Wh, `feeTotal` (yuan, two
decimals) to fen, and `status` compared in the spec's words (0, 2 or 9) with what our order says now.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from integrations.models import Counterparty, PartnerProtocol
from integrations.partnerkit.statement import PartnerStatementSource
from orders.models import Order

from .callbacks import KIND
from .payloads import order_status
from .protocol import fen_of, loads, wh_of


def _read(body: str) -> dict:
    callback = loads(body)
    data = callback.get("data") or {}
    return {"energy_wh": wh_of(data.get("power", 0)), "amount_fen": fen_of(data.get("feeTotal", 0)),
            "status": str(data.get("status", "")),
            "extra": {"notify_id": callback.get("notifyId", ""), "org": callback.get("org", "")}}


def _status(order: Order) -> str:
    return str(order_status(order))


class PartnerStatement2017(PartnerStatementSource):
    code = Counterparty.PARTNER
    label = _("Partner platforms")
    protocol = PartnerProtocol.PILE_2017
    callback_kind = KIND
    read = staticmethod(_read)
    status_of = staticmethod(_status)
