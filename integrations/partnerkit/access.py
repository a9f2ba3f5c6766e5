"""Who a partner is and what it may see, for every partner interface: secrets, tokens, failed attempts, the stations
it sees and what of them it reads.

A secret and a token are random strings we issue; only their SHA-256 is stored. Being random and long (256 bits),
neither can be guessed from its hash, so a slow password hash would buy nothing and cost every token request.
Each refusal is recorded (`PartnerAuthFailure`) with the address it came from, and raised as `PartnerDenied`,
whose `reason` the protocol turns into its own code.

A secret is rotated, never just replaced: the one before it keeps getting tokens for an overlap (two secrets at
most), so that a partner with several servers deploys the new one without an outage; the operator sees which secret
each token was got with and when each secret was last used, and retires the previous one once the partner switched.
Tokens do not depend on the secret that got them: a rotation ends none (retiring may end those of the previous one).
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
# The longest a rotation's previous secret keeps working: an overlap is for deploying, not for keeping two secrets.
SECRET_OVERLAP_MAX = timedelta(days=30)


def partner_secret_overlap_end(*, now: datetime | None = None) -> datetime:
    """When the secret a rotation at `now` replaces stops working, unless the operator chooses another time."""
    return (now or timezone.now()) + timedelta(hours=settings.PARTNER_SECRET_OVERLAP_HOURS)


def partner_secret_overlap_check(*, valid_until: datetime, now: datetime | None = None) -> None:
    """Raise ValidationError when a rotation's previous secret would work past SECRET_OVERLAP_MAX."""
    if valid_until > (now or timezone.now()) + SECRET_OVERLAP_MAX:
        raise ValidationError(_("The secret a rotation replaces works at most %(days)d days after it.")
                              % {"days": SECRET_OVERLAP_MAX.days})


def partner_secret_issue(*, partner: Partner, secret: str | None = None, valid_until: datetime | None = None,
                         now: datetime | None = None) -> str:
    """A new secret for `partner`, returned once to be handed over: a rotation.

    The secret in use becomes the previous one and still gets tokens until `valid_until` (by default
    PARTNER_SECRET_OVERLAP_HOURS from now, at most SECRET_OVERLAP_MAX), so that the partner deploys the new one
    server by server without an outage. Two secrets at most work at once: a previous one still in its overlap is
    dropped. Tokens are left alone, each runs until it expires; but a time already past ends the previous secret at
    once (one that leaked), and then the live tokens got with an older secret are revoked with it.

    `secret` sets a given one instead (one the partner already holds from another system, or the demo's); it must
    be at least SECRET_MIN_LENGTH characters. Giving the secret in use again changes nothing, so that a deployment
    that sets a partner's given secret on every start does not rotate it each time.
    """
    now = now or timezone.now()
    if secret is None:
        secret = secrets.token_urlsafe(32)
    elif len(secret) < SECRET_MIN_LENGTH:
        raise ValidationError(_("A partner's secret is at least %(count)d characters.") % {"count": SECRET_MIN_LENGTH})
    if valid_until is None:
        valid_until = partner_secret_overlap_end(now=now)
    partner_secret_overlap_check(valid_until=valid_until, now=now)
    hashed = digest(secret)
    with transaction.atomic():
        partner_access_get(partner=partner)
        access = PartnerAccess.objects.select_for_update().get(partner=partner)
        if access.secret_hash and hmac.compare_digest(hashed, access.secret_hash):
            return secret
        changed = ["secret_hash", "secret_hint", "secret_set_at", "secret_last_used_at", "updated_at"]
        if access.secret_hash:
            access.previous_secret_hash = access.secret_hash
            access.previous_secret_hint = access.secret_hint
            access.previous_secret_set_at = access.secret_set_at
            access.previous_secret_last_used_at = access.secret_last_used_at
            access.previous_secret_valid_until = max(valid_until, now)
            changed += ["previous_secret_hash", "previous_secret_hint", "previous_secret_set_at",
                        "previous_secret_last_used_at", "previous_secret_valid_until"]
        access.secret_hash = hashed
        access.secret_hint = secret[-4:]
        access.secret_set_at = now
        access.secret_last_used_at = None
        access.save(update_fields=changed)
        if access.previous_secret_hash and not access.previous_secret_works(now):
            PartnerToken.objects.filter(_got_with_an_older_secret(access), partner=partner, expires_at__gt=now).delete()
    return secret


def _got_with_an_older_secret(access: PartnerAccess) -> Q:
    """Tokens not got with the secret in use: during its overlap with the previous one, or before its rotation."""
    older = Q(by_previous_secret=True)
    return older | Q(issued_at__lt=access.secret_set_at) if access.secret_set_at else older


def partner_tokens_alive_by_secret(*, access: PartnerAccess, now: datetime) -> dict[str, int]:
    """How many of the partner's live tokens were got with the secret in use (`current`) and with an older one
    (`previous`): the partner has switched when no server holds one of the latter."""
    alive = PartnerToken.objects.filter(partner=access.partner_id, expires_at__gt=now)
    older = _got_with_an_older_secret(access)
    return alive.aggregate(current=Count("pk", filter=~older), previous=Count("pk", filter=older))


def partner_secret_previous_retire(*, partner: Partner, revoke_tokens: bool = True, now: datetime | None = None) -> int:
    """End the overlap of `partner`'s previous secret now (the partner uses the new one, or the old one leaked).

    With `revoke_tokens` (the default: a retired secret is no longer trusted, and its tokens are what it bought),
    the live tokens not got with the secret in use end too (those of the overlap, and those got before the rotation);
    without, they run until they expire. Returns how many were revoked. Raises ValidationError when no previous
    secret works any more.
    """
    now = now or timezone.now()
    with transaction.atomic():
        access = PartnerAccess.objects.select_for_update().filter(partner=partner).first()
        if access is None or not access.previous_secret_works(now):
            raise ValidationError(
                _("%(partner)s has no previous secret that still works: there is nothing to retire.")
                % {"partner": partner}
            )
        access.previous_secret_valid_until = now
        access.save(update_fields=["previous_secret_valid_until", "updated_at"])
        if not revoke_tokens:
            return 0
        # The lock on the access settles the race with getToken: a token got with the previous secret either
        # exists now and is revoked here, or is asked for after this commits and refused.
        revoked, _by_model = PartnerToken.objects.filter(
            _got_with_an_older_secret(access), partner=partner, expires_at__gt=now).delete()
    return revoked


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


def _secret_refusal(access: PartnerAccess | None, secret: str, now: datetime) -> tuple[str | None, bool]:
    """(the reason `secret` is refused, or None; whether it is the previous secret) for `access` at `now`."""
    if access is None or not access.secret_hash:
        return AuthFailureReason.NO_SECRET, False
    given = digest(secret)
    # Both are compared whatever the first gives, each in constant time.
    current = hmac.compare_digest(given, access.secret_hash)
    previous = hmac.compare_digest(given, access.previous_secret_hash)
    if current:
        return None, False
    if previous:
        return (None, True) if access.previous_secret_works(now) else (AuthFailureReason.PREVIOUS_SECRET_EXPIRED, True)
    return AuthFailureReason.WRONG_SECRET, False


def partner_token_issue(*, org: str, secret: str, caller: Caller, now: datetime | None = None) -> IssuedToken:
    """A token for the partner of `org` that proves `secret` (its secret, or during a rotation's overlap the
    previous one); valid PARTNER_TOKEN_SECONDS. The partner's other tokens stay valid: each of its servers holds
    its own. Raises PartnerDenied."""
    now = now or timezone.now()
    partner = Partner.objects.filter(org_code=org).first()
    if partner is None:
        _deny(AuthFailureReason.UNKNOWN_ORG, caller=caller, org=org)
    seconds = settings.PARTNER_TOKEN_SECONDS
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=seconds)
    with transaction.atomic():
        # Locked so that a rotation or a retirement comes wholly before this check or after the token exists.
        access = PartnerAccess.objects.select_for_update().filter(partner=partner).first()
        reason, by_previous = _secret_refusal(access, secret, now)
        if reason is None and partner.enabled:
            PartnerToken.objects.create(partner=partner, token_hash=digest(token), issued_at=now,
                                        expires_at=expires_at, remote_addr=caller.remote_addr[:64],
                                        by_previous_secret=by_previous)
            # An update, not a save: when a secret was last used is bookkeeping, not a change of the access (its
            # `updated_at` and its history stay as the operator left them).
            used = "previous_secret_last_used_at" if by_previous else "secret_last_used_at"
            PartnerAccess.objects.filter(pk=access.pk).update(**{used: now})
    # Refusals are written down outside the transaction, which has nothing to roll back for them.
    if reason is not None:
        _deny(reason, caller=caller, org=org, partner=partner)
    if not partner.enabled:
        _deny(AuthFailureReason.DISABLED, caller=caller, org=org, partner=partner)
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
