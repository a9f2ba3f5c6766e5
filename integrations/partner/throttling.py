"""Per-partner rates of the 2017 interface, with headroom over what the spec says a partner calls.

The spec's rates (§2): syncStubGroupInfo once a day per city, syncStubInfo once every 15 minutes per station,
getOrderInfo once every 5 minutes per charging order, checkChargeOrders once a day; it names none for the control
interfaces. A partner with a thousand stations and a thousand sessions at once stays far below the defaults of
PARTNER_RATES (settings); each rate counts one partner's calls of one interface. getToken counts per address, so
that a wrong secret cannot be tried at speed, and refused attempts (`authFailures`) count per address too: past
that rate an address is turned away before its token or secret is looked at, and its attempts are no longer each
written to the failure log. The counts live in the cache (Redis when REDIS_URL is set, so every
web process shares them; a process's own memory otherwise).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

from integrations.inbox.senders import sender_address

from .protocol import Code, Refusal

PERIOD_WORDS = {"s": "秒", "m": "分钟", "h": "小时", "d": "天"}


class PartnerThrottle(SimpleRateThrottle):
    def get_rate(self):
        return None  # set per view in allow_request

    def allow_request(self, request, view):
        self.view = view
        self.rate = settings.PARTNER_RATES.get(view.interface)
        if not self.rate:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        partner = getattr(view, "partner", None)
        who = f"partner{partner.pk}" if partner is not None else f"addr{sender_address(request)}"
        return f"partner-throttle:{view.interface}:{who}"


def _throttled(name: str, rate: str, wait: int) -> Refusal:
    count, _, period = rate.partition("/")
    return Refusal(Code.THROTTLED, name=name, count=count, period=PERIOD_WORDS.get(period[:1], period),
                   wait=max(wait, 1))


def throttled_refusal(view, wait: float | None) -> Refusal:
    return _throttled(view.interface, settings.PARTNER_RATES.get(view.interface, ""), int(wait or 0) + 1)


class AuthFailureBudget:
    """Refused attempts to authenticate from one address, counted per window of PARTNER_RATES["authFailures"]."""

    name = "authFailures"

    def __init__(self, request):
        self.address = sender_address(request)
        rate = settings.PARTNER_RATES.get(self.name)
        self.limit, self.seconds = SimpleRateThrottle.parse_rate(None, rate) if rate else (None, None)

    def _key(self) -> tuple[str, int]:
        window, into = divmod(int(time.time()), self.seconds)
        return f"partner-auth-failures:{self.address}:{window}", self.seconds - into

    def exhausted(self) -> int | None:
        """Seconds to wait when the address has used up its refused attempts; None while it has not."""
        if self.limit is None:
            return None
        key, left = self._key()
        return left if (cache.get(key) or 0) >= self.limit else None

    def spend(self) -> None:
        if self.limit is None:
            return
        key, left = self._key()
        if not cache.add(key, 1, timeout=left + 1):
            try:
                cache.incr(key)
            except ValueError:  # expired between the two
                cache.set(key, 1, timeout=left + 1)

    def refusal(self, wait: int) -> Refusal:
        return _throttled("认证失败", settings.PARTNER_RATES[self.name], wait)
