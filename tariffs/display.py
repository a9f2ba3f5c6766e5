"""Tariffs, breakdowns and changes as HTML tables for the admin pages (tariffs, versions, orders)."""

from django.template.loader import render_to_string
from django.utils.translation import gettext

from tariffs.models import TimeInterval
from tariffs.pricing import Breakdown, Line, LineKind, Tariff
from tariffs.validation import tier_label


def render_tariff(tariff: Tariff) -> str:
    return render_to_string("admin/tariffs/includes/tariff.html", {"tariff": tariff})


def breakdown_line_label(line: Line, tariff: Tariff) -> str:
    if line.kind in (LineKind.PERIOD, LineKind.FREE) and line.interval:
        label = TimeInterval(line.interval).label
    elif line.kind in (LineKind.TIER, LineKind.FREE):
        label = tier_label(tariff.tiers[line.row])
    else:
        label = {
            LineKind.MINIMUM: gettext("raised to the start fee"),
            LineKind.MAXIMUM: gettext("capped at the maximum payment"),
            LineKind.FREE_CHARGING: gettext("free charging"),
        }[line.kind]
    if line.kind == LineKind.FREE:
        label = gettext("%(line)s, free charging time") % {"line": label}
    return label


def render_breakdown(breakdown: Breakdown, tariff: Tariff) -> str:
    """The engine's breakdown as a table: one line per period occurrence or tier, then adjustments."""
    rows = [(breakdown_line_label(line, tariff), line) for line in breakdown.lines]
    return render_to_string("admin/tariffs/includes/breakdown.html", {"rows": rows, "breakdown": breakdown})


def render_changes(changes) -> str:
    return render_to_string("admin/tariffs/includes/changes.html", {"changes": changes})
