"""Who a partner is and what it may see, for every partner interface: secrets, tokens, failed attempts, the stations
it sees and what of them it reads.

A secret and a token are random strings we issue; only their SHA-256 is stored. Being random and long (256 bits),
neither can be guessed from its hash, so a slow password hash would buy nothing and cost every token request.
Each refusal is recorded (`PartnerAuthFailure`) with the address it came from, and raised as `PartnerDenied`,
whose `reason` the protocol turns into its own code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from chargers.models import Charger, Connector, CurrentType
from integrations.partnerkit.models import AuthFailureReason, PartnerAccess, PartnerAuthFailure, PartnerToken
from orders.models import Partner
from stations.models import Station, StationStatus
from tariffs.pricing import Tariff
from tariffs.selectors import tariff_version_in_force

# Stations a partner never sees, whatever its access: not built yet, or gone.
HIDDEN_STATION_STATUSES = (StationStatus.PLAN, StationStatus.DEACTIVATED)


class PartnerDenied(Exception):
    """A partner, or someone claiming to be one, is refused; `reason` is an `AuthFailureReason`."""

    def __init__(self, reason: str, partner: Partner | None = None):
        super().__init__(reason)
        self.reason = reason
        self.partner = partner


@dataclass(frozen=True)
class Caller:
    """Where a request came from, as the failure log keeps it."""

    interface: str
    remote_addr: str = ""
    user_agent: str = ""
    # False once an address has failed too often: its refusals are counted, no longer each written down.
    record_failure: bool = True


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    seconds: int


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def partner_access_get(*, partner: Partner) -> PartnerAccess:
    access, _created = PartnerAccess.objects.get_or_create(partner=partner)
    return access


SECRET_MIN_LENGTH = 16


def partner_secret_issue(*, partner: Partner, secret: str | None = None, now: datetime | None = None) -> str:
    """A new secret for `partner`, returned once to be handed over; the one before it stops working.

    `secret` sets a given one instead (one the partner already holds from another system, or the demo's); it must
    be at least SECRET_MIN_LENGTH characters.
    """
    if secret is None:
        secret = secrets.token_urlsafe(32)
    elif len(secret) < SECRET_MIN_LENGTH:
        raise ValidationError(_("A partner's secret is at least %(count)d characters.") % {"count": SECRET_MIN_LENGTH})
    with transaction.atomic():
        access = partner_access_get(partner=partner)
        access.secret_hash = digest(secret)
        access.secret_hint = secret[-4:]
        access.secret_set_at = now or timezone.now()
        access.save(update_fields=["secret_hash", "secret_hint", "secret_set_at", "updated_at"])
    return secret


def partner_auth_failure_record(*, reason: str, caller: Caller, org: str = "", partner: Partner | None = None,
                                now: datetime | None = None) -> PartnerAuthFailure:
    return PartnerAuthFailure.objects.create(
        at=now or timezone.now(), partner=partner, org=org[:64], interface=caller.interface[:64], reason=reason,
        remote_addr=caller.remote_addr[:64], user_agent=caller.user_agent[:255],
    )


def _deny(reason: str, *, caller: Caller, org: str = "", partner: Partner | None = None):
    if caller.record_failure:
        partner_auth_failure_record(reason=reason, caller=caller, org=org, partner=partner)
    raise PartnerDenied(reason, partner)


def partner_token_issue(*, org: str, secret: str, caller: Caller, now: datetime | None = None) -> IssuedToken:
    """A token for the partner of `org` that proves `secret`; valid PARTNER_TOKEN_SECONDS. Raises PartnerDenied."""
    now = now or timezone.now()
    partner = Partner.objects.select_related("access").filter(org_code=org).first()
    if partner is None:
        _deny(AuthFailureReason.UNKNOWN_ORG, caller=caller, org=org)
    access = getattr(partner, "access", None)
    if access is None or not access.secret_hash:
        _deny(AuthFailureReason.NO_SECRET, caller=caller, org=org, partner=partner)
    if not hmac.compare_digest(digest(secret), access.secret_hash):
        _deny(AuthFailureReason.WRONG_SECRET, caller=caller, org=org, partner=partner)
    if not partner.enabled:
        _deny(AuthFailureReason.DISABLED, caller=caller, org=org, partner=partner)
    seconds = settings.PARTNER_TOKEN_SECONDS
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=seconds)
    PartnerToken.objects.create(partner=partner, token_hash=digest(token), issued_at=now, expires_at=expires_at,
                                remote_addr=caller.remote_addr[:64])
    return IssuedToken(token=token, expires_at=expires_at, seconds=seconds)


def partner_authenticate(*, token: str, caller: Caller, now: datetime | None = None) -> Partner:
    """The enabled partner that holds `token`, with its access loaded. Raises PartnerDenied."""
    now = now or timezone.now()
    if not token:
        _deny(AuthFailureReason.NO_TOKEN, caller=caller)
    row = PartnerToken.objects.select_related("partner__access").filter(token_hash=digest(token)).first()
    if row is None:
        _deny(AuthFailureReason.UNKNOWN_TOKEN, caller=caller)
    partner = row.partner
    if row.expires_at <= now:
        _deny(AuthFailureReason.EXPIRED_TOKEN, caller=caller, org=partner.org_code, partner=partner)
    if not partner.enabled:
        _deny(AuthFailureReason.DISABLED, caller=caller, org=partner.org_code, partner=partner)
    return partner


def partner_tokens_revoke(*, partner: Partner) -> int:
    """End every token `partner` holds at once (a leaked secret or token); it asks for a new one. Returns how many."""
    deleted, _by_model = PartnerToken.objects.filter(partner=partner).delete()
    return deleted


def partner_access_prune(*, now: datetime | None = None, tokens_kept: timedelta = timedelta(days=7)) -> int:
    """Forget tokens that expired more than `tokens_kept` ago and refused attempts older than
    PARTNER_AUTH_FAILURE_KEEP_DAYS (a task runs it hourly); returns how many rows went."""
    now = now or timezone.now()
    tokens, _by_model = PartnerToken.objects.filter(expires_at__lt=now - tokens_kept).delete()
    failures, _by_model = PartnerAuthFailure.objects.filter(
        at__lt=now - timedelta(days=settings.PARTNER_AUTH_FAILURE_KEEP_DAYS)).delete()
    return tokens + failures


# --- what a partner sees ----------------------------------------------------------------------------------------


def partner_stations(*, partner: Partner) -> QuerySet[Station]:
    """The stations `partner` may see: those of its cities and those given to it one by one."""
    access = getattr(partner, "access", None)
    if access is None:
        return Station.objects.none()
    seen = Q(pk__in=access.stations.values("pk"))
    cities = access.city_code_list
    if cities:
        seen |= Q(city_code__in=cities)
    return Station.objects.filter(seen).exclude(status__in=HIDDEN_STATION_STATUSES)


def partner_stations_counted(*, partner: Partner, city_code: str, access: str | None = None) -> QuerySet[Station]:
    """The stations of `city_code` `partner` sees (of `access` only, when given), in code order, each with its
    counts of chargers that take AC (`ac`) and DC (`dc`): an AC/DC charger counts in both."""
    stations = partner_stations(partner=partner).filter(city_code=city_code)
    if access is not None:
        stations = stations.filter(access=access)
    ac = Q(chargers__current_type__in=(CurrentType.AC, CurrentType.AC_DC))
    dc = Q(chargers__current_type__in=(CurrentType.DC, CurrentType.AC_DC))
    return stations.annotate(ac=Count("chargers", filter=ac), dc=Count("chargers", filter=dc)).order_by("code")


@dataclass(frozen=True)
class StationView:
    """A station as a partner reads it: its chargers with their connectors in number order, and its tariff in
    force now (None without one)."""

    station: Station
    chargers: list[tuple[Charger, list[Connector]]]
    tariff: Tariff | None


def partner_station(*, partner: Partner, code: str, now: datetime) -> StationView | None:
    """Station `code` as `partner` sees it; None when there is none, or it is not the partner's to see."""
    station = partner_stations(partner=partner).filter(code=code).first()
    if station is None:
        return None
    version = tariff_version_in_force(template=station.tariff_template_id, at=now) if station.tariff_template_id \
        else None
    chargers = [(charger, sorted(charger.connectors.all(), key=lambda connector: connector.number))
                for charger in station.chargers.prefetch_related("connectors").order_by("serial")]
    return StationView(station=station, chargers=chargers, tariff=version.tariff if version else None)
