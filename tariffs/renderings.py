"""What every rendering of a tariff into another party's structure shares: pure functions, no database.

Each party's structure is built at the edge, in its own folder; what is ours stays here: the rows in the order
the operator reads them (periods by time of day, tiers by power), each with the label the template page and the
rules give it, the exact conversions of our integer units into a party's, and the error that refuses a tariff a
party cannot carry.

A renderer never rounds a price: a conversion gives None when the target unit cannot carry the price exactly,
and the renderer raises `TariffRenderError` naming the row and saying what to change.
"""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop

from backoffice.errors import DomainError
from tariffs.pricing import Period, PowerTier, Tariff
from tariffs.validation import period_label, tier_label


class TariffRenderError(DomainError):
    """A tariff a party's structure cannot express exactly. The message is for an operator: it is shown in the
    admin when a push is refused.

    Raise it with the English message marked by `gettext_noop` and the values it names; it is translated here,
    into the language active when it is raised: `TariffRenderError(gettext_noop("%(row)s ..."), row=label)`.
    """

    def __init__(self, message: str, **values):
        super().__init__(gettext(message) % values)


# --- rows, named as the operator sees them -----------------------------------------------------------


def periods_in_day_order(tariff: Tariff) -> list[tuple[str, Period]]:
    """The tariff's periods from midnight on, each with its label."""
    return [(period_label(period), period) for period in sorted(tariff.periods, key=lambda p: p.start_minute)]


def tiers_in_power_order(tariff: Tariff) -> list[tuple[str, PowerTier]]:
    """The tariff's power tiers from the lowest bound up, each with its label."""
    return [(tier_label(tier), tier) for tier in sorted(tariff.tiers, key=lambda t: t.power_upper_w)]


def require_rows(tariff: Tariff) -> None:
    """Refuse a tariff without a row: every party's structure needs at least one."""
    if not tariff.periods and not tariff.tiers:
        raise TariffRenderError(gettext_noop("The tariff has neither periods nor power tiers: add at least one row."))


# --- exact unit conversions: None when the target unit cannot carry the price ------------------------


def exact_quotient(numerator: int, denominator: int) -> int | None:
    """`numerator / denominator` when it is a whole number, else None."""
    quotient, remainder = divmod(numerator, denominator)
    return None if remainder else quotient


def exact_fen(price_e4: int) -> int | None:
    """A price in 0.0001 yuan as whole fen (per the same unit)."""
    return exact_quotient(price_e4, 100)


def exact_fen_per_hour(price_e4: int, unit_seconds: int) -> int | None:
    """A price in 0.0001 yuan per `unit_seconds` of charging as whole fen per hour."""
    return exact_quotient(price_e4 * 3600, unit_seconds * 100)
