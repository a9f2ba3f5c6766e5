"""What changed between two tariffs, in words and display units: pure, no database.

Periods are matched by their time span and tiers by their upper bound, so moving a boundary reads as
one period removed and one added, and a price edit reads as that period changed.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from tariffs.models import TimeInterval, VehicleKind
from tariffs.pricing import Period, PowerTier, Tariff
from tariffs.units import format_duration, format_fen, format_price_e4
from tariffs.validation import period_label, tier_label


@dataclass(frozen=True)
class Change:
    item: str
    before: str  # "" when the item was added
    after: str  # "" when the item was removed


def _yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def _period_text(period: Period) -> str:
    return _("%(interval)s, electricity %(electricity)s, service %(service)s yuan/kWh") % {
        "interval": TimeInterval(period.interval).label,
        "electricity": format_price_e4(period.electricity_price_e4),
        "service": format_price_e4(period.service_price_e4),
    }


def _tier_text(tier: PowerTier) -> str:
    return _("electricity %(electricity)s, service %(service)s yuan per %(unit)s") % {
        "electricity": format_price_e4(tier.electricity_price_e4),
        "service": format_price_e4(tier.service_price_e4),
        "unit": format_duration(tier.unit_seconds),
    }


def tariff_changes(before: Tariff, after: Tariff) -> list[Change]:
    """Every difference from `before` to `after`: settings first, then rows in order of time or power."""
    changes = []
    settings = (
        (_("vehicle kind"), lambda t: str(VehicleKind(t.kind).label)),
        (_("free charging time"), lambda t: format_duration(t.free_charge_seconds)),
        (_("minimum balance (yuan)"), lambda t: format_fen(t.min_balance_fen)),
        (_("start fee (yuan)"), lambda t: format_fen(t.start_fee_fen)),
        (_("maximum payment (yuan)"), lambda t: format_fen(t.max_pay_fen)),
        (_("refundable"), lambda t: _yes_no(t.refundable)),
        (_("free charging"), lambda t: _yes_no(t.free_charging)),
    )
    for label, show in settings:
        if show(before) != show(after):
            changes.append(Change(label, show(before), show(after)))

    old_periods = {(p.start_minute, p.end_minute): p for p in before.periods}
    new_periods = {(p.start_minute, p.end_minute): p for p in after.periods}
    for span in sorted(old_periods.keys() | new_periods.keys()):
        old, new = old_periods.get(span), new_periods.get(span)
        if old != new:
            label = period_label(old or new)
            changes.append(Change(label, _period_text(old) if old else "", _period_text(new) if new else ""))
    old_tiers = {t.power_upper_w: t for t in before.tiers}
    new_tiers = {t.power_upper_w: t for t in after.tiers}
    for power in sorted(old_tiers.keys() | new_tiers.keys()):
        old, new = old_tiers.get(power), new_tiers.get(power)
        if old != new:
            label = tier_label(old or new)
            changes.append(Change(label, _tier_text(old) if old else "", _tier_text(new) if new else ""))
    return changes
