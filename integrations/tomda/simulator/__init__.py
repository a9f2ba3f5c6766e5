"""A Tomda cloud on loopback: the API of spec section 4 and the pushes of section 5, over real HTTP.

End-to-end tests point our client and push receiver at it, and `manage.py tomda_simulator` runs it
for the demo. It plays the vendor, so it imports nothing of the back office but the simulation kit
(`integrations.simulation`: no Django, no models): whatever it believes about the protocol comes
from the vendor's document, not from our interpretation of it.

`TomdaSimulator` (cloud.py) holds the state behind one lock: chargers and sessions (state.py), the
fee templates piles bill with (fees.py), tokens. It answers API calls (api.py) through its HTTP front
(handler.py), pushes to our receiver (pushes.py) and offers the hooks tests and the demo drive it
with (hooks.py); protocol.py is the wire's tables, times and error answer.

Time is simulated: a clock that starts at `start_time` (default: now) and moves only through
`advance()` and the work-data rounds, so energy, cost and every time string are deterministic.
Wire times are Beijing local `yyyy-MM-dd HH:mm:ss`.
"""

from integrations.tomda.simulator.cloud import TomdaSimulator
from integrations.tomda.simulator.fees import FeeSchedule, round_half_up
from integrations.tomda.simulator.protocol import API_PREFIX, BEIJING, ApiError, wire_time
from integrations.tomda.simulator.pushes import PushRecord
from integrations.tomda.simulator.state import SimCharger, SimConnector, SimSession

__all__ = [
    "API_PREFIX",
    "BEIJING",
    "ApiError",
    "FeeSchedule",
    "PushRecord",
    "SimCharger",
    "SimConnector",
    "SimSession",
    "TomdaSimulator",
    "round_half_up",
    "wire_time",
]
