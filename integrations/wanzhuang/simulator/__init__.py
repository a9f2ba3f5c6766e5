"""A Wanzhuang (万桩 wz-open) cloud on loopback: its open API and its callbacks, over real HTTP.

End-to-end tests point our client and callback receiver at it, and `manage.py wanzhuang_simulator` runs it
for the demo. It plays the vendor, so it imports nothing of the back office but the simulation kit
(`integrations.simulation`: no Django, no models, not our Wanzhuang client or its signing): it checks every
call's signature with its own reading of the wire document (`wz_wire.md`), so it verifies our client
rather than agreeing with it by construction.

`WanzhuangSimulator` (cloud.py) holds the state behind one lock: devices, their ports and saved charge
modes, sessions (state.py), flow-card renewals. It answers API calls (api.py) through its HTTP front
(handler.py: query, JSON or multipart parameters, as each path takes them), sends callbacks to our
receiver and keeps their log (callbacks.py), and offers the hooks tests and the demo drive it with
(hooks.py). protocol.py is the wire's tables, routes, codes and signature; tariff.py the saveMode fields
and what a session costs under them.

Time is simulated: a clock that starts at `start_time` (default: now) and moves only through `advance()`
and the tick rounds, so energy, cost and every device time are deterministic. Signatures and their
timestamps use the real clock, as both sides sign with it.
"""

from integrations.wanzhuang.simulator.callbacks import CallbackRecord
from integrations.wanzhuang.simulator.cloud import WanzhuangSimulator
from integrations.wanzhuang.simulator.protocol import (
    CALLBACK_NAMES,
    HMAC_SHA256,
    ROUTES,
    SHA256,
    ApiError,
    signature,
    signing_string,
)
from integrations.wanzhuang.simulator.state import SimDevice, SimPort, SimSession
from integrations.wanzhuang.simulator.tariff import round_half_up

__all__ = [
    "CALLBACK_NAMES",
    "HMAC_SHA256",
    "ROUTES",
    "SHA256",
    "ApiError",
    "CallbackRecord",
    "SimDevice",
    "SimPort",
    "SimSession",
    "WanzhuangSimulator",
    "round_half_up",
    "signature",
    "signing_string",
]
