"""Who is pushing: the sender's address, and whether a counterparty's allow-list lets it in.

Behind a load balancer every request comes from the balancer's address; the client's is in
`X-Forwarded-For`, which anyone can write. It is believed only from the proxies `TRUSTED_PROXIES`
names: the sender is the right-most address in the header that is not one of them.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks_parse(values, *, setting: str) -> tuple[Network, ...]:
    """Addresses and CIDR ranges of a setting; a wrong entry is named."""
    networks = []
    for value in values:
        value = str(value).strip()
        if not value:
            continue
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(f"{setting}: {value!r} is not an IP address or CIDR range") from exc
    return tuple(networks)


@lru_cache(maxsize=32)
def _networks(setting: str, values: tuple[str, ...]) -> tuple[Network, ...]:
    return networks_parse(values, setting=setting)


def networks_of(setting: str) -> tuple[Network, ...]:
    """The parsed networks of a list setting, read afresh each time (tests change settings)."""
    return _networks(setting, tuple(getattr(settings, setting, ()) or ()))


def _address(value: str):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _within(address, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def sender_address(request) -> str:
    """The pushing client's address, taking the forwarded header only from a trusted proxy.

    The admin's login lockout and records take the client's address from here too (AXES_CLIENT_IP_CALLABLE)."""
    peer = request.META.get("REMOTE_ADDR", "")
    proxies = networks_of("TRUSTED_PROXIES")
    if not proxies or not _within(_address(peer), proxies):
        return peer
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _within(_address(hop), proxies):
            return hop
    return hops[0] if hops else peer


def sender_allowed(address: str, *, setting: str) -> bool:
    """Whether the allow-list named by `setting` admits `address`; an empty list admits everyone."""
    allowed = networks_of(setting)
    return not allowed or _within(_address(address), allowed)
