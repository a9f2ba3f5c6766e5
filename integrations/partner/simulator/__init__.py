"""The partner platform on loopback: it plays a partner against our partner API (contract: the 2017 pile-operator
interface under /api/partner/v1/) and receives our order callbacks, over real HTTP.

End-to-end tests drive our server with it, and `manage.py partner_simulator` runs it for the demo. It plays the
partner, so it imports nothing of the back office but the simulation kit (`integrations.simulation`: no Django,
not our server's protocol module): what it believes about the interface comes from the contract.

- `PartnerClient` (client.py): the token and the interfaces; `call()` gives each envelope as it came, the named
  methods its data or a `PartnerApiError`.
- `CallbackReceiver` (receiver.py): the callback endpoint, deduplicating by notifyId, able to fail on purpose.
- `PartnerRecords` (records.py): the partner's books from the callbacks, and their reconciliation with
  checkChargeOrders.
- `PartnerDemo` (demo.py): the loop of the demo. protocol.py holds the contract's codes, times and numbers.

Numbers are parsed as `Decimal`, so yuan and kWh are compared exactly; times are Beijing "yyyy-MM-dd HH:mm:ss".
"""

from integrations.partner.simulator.client import PartnerApiError, PartnerClient, PartnerProtocolError
from integrations.partner.simulator.demo import DemoSession, PartnerDemo
from integrations.partner.simulator.protocol import API_PREFIX, BEIJING, loads, parse_wire_time, wire_time
from integrations.partner.simulator.receiver import CALLBACK_PATH, CallbackReceiver, ReceivedCallback
from integrations.partner.simulator.records import (
    Difference,
    OrderRecord,
    PartnerRecords,
    ReconcileResult,
    Totals,
    totals_of,
)

__all__ = [
    "API_PREFIX",
    "BEIJING",
    "CALLBACK_PATH",
    "CallbackReceiver",
    "DemoSession",
    "Difference",
    "OrderRecord",
    "PartnerApiError",
    "PartnerClient",
    "PartnerDemo",
    "PartnerProtocolError",
    "PartnerRecords",
    "ReceivedCallback",
    "ReconcileResult",
    "Totals",
    "loads",
    "parse_wire_time",
    "totals_of",
    "wire_time",
]
