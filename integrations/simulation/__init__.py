"""Parts every counterparty simulator is built from: it plays a vendor cloud or a partner platform on loopback.

- `LoopbackServer` serves an app (a function from `Request` to `Response`) over real HTTP on a thread.
- `SimClock` is simulated time: it moves only when told, so every time a simulator writes is deterministic.
- `Ticker` runs periodic rounds (work-data reports, a clock following real time) on a thread.
- `Pusher` POSTs `Delivery` messages to our receiver, in order on a thread or at once, retrying with
  backoff and recording how each went.
- `log_to` shows a simulator's log on a stream, for its management command.

Nothing here knows a vendor: no field names, envelopes or codes. Like the simulators built on it, it
imports nothing of the back office (no Django), so a simulator stays a stranger to our code.
"""

from integrations.simulation.clock import SimClock
from integrations.simulation.logs import log_to
from integrations.simulation.pusher import Delivery, Pusher
from integrations.simulation.server import LoopbackServer, Request, Response
from integrations.simulation.ticker import Ticker

__all__ = ["Delivery", "LoopbackServer", "Pusher", "Request", "Response", "SimClock", "Ticker", "log_to"]
