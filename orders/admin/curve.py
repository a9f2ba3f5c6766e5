"""The order's curve on its admin page: power (kW) and cumulative energy (kWh) over time from its samples,
drawn over the time-of-use periods (尖峰平谷) it was priced in, as inline SVG (`curve.html`, no script).

The periods are the order's price lines: as stored at settlement, or for a session not settled yet the
pricing engine's breakdown so far; each period line is shaded over exactly the instants it priced. The
samples are read in one query and thinned evenly to at most `MAX_POINTS`, the first and the last always
kept. Samples left out of pricing are not joined into the lines (their readings contradict the others)
but marked apart, each with why. Tick labels and tooltips are exact decimals of the stored integers.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import admin
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from backoffice.adminkit.charts import Plot, Tick, value_ticks
from orders.models import Order, OrderStatus, SampleExclusion
from orders.selectors import order_price_breakdown, order_price_stored, order_samples
from tariffs.models import TimeInterval
from tariffs.pricing import Breakdown, LineKind
from tariffs.units import format_fen, format_scaled, format_wh

MAX_POINTS = 500
WIDTH, HEIGHT = 900, 300
PLOT = Plot(left=56, top=24, right=WIDTH - 60, bottom=HEIGHT - 44)
# Fills of the time-of-use classes behind the curve, light enough for the lines to read over them.
INTERVAL_FILLS = {
    TimeInterval.CUSP: "#f6b8b8",
    TimeInterval.PEAK: "#f8d8a0",
    TimeInterval.PLAIN: "#d3e4f4",
    TimeInterval.VALLEY: "#cfead0",
}
POWER_STROKE = "#c0392b"
ENERGY_STROKE = "#1f5fa8"
LEFT_OUT_STROKE = "#7d3c98"
# Steps of the time axis, in minutes: the first that needs no more than `TIME_TICKS` ticks is used.
TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)
TIME_TICKS = 8


def thinned(items: Sequence, limit: int = MAX_POINTS) -> list:
    """At most `limit` of `items`, evenly spaced, the first and the last always among them."""
    total = len(items)
    if total <= limit:
        return list(items)
    return [items[i * (total - 1) // (limit - 1)] for i in range(limit)]


@dataclass(frozen=True)
class Shade:
    x: float
    width: float
    fill: str
    interval: str
    title: str


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class LegendEntry:
    label: str
    fill: str


@dataclass(frozen=True)
class Curve:
    width: int
    height: int
    plot: Plot
    power_points: str  # of the SVG polyline: "x,y x,y ..."
    energy_points: str
    points: int  # how many samples each line joins
    markers: tuple[Marker, ...]  # samples left out of pricing
    shades: tuple[Shade, ...]
    power_ticks: tuple[Tick, ...]
    energy_ticks: tuple[Tick, ...]
    time_ticks: tuple[Tick, ...]
    legend: tuple[LegendEntry, ...]
    caption: str
    power_stroke: str = POWER_STROKE
    energy_stroke: str = ENERGY_STROKE
    left_out_stroke: str = LEFT_OUT_STROKE

    # Where the axes' labels go, so that the template does no arithmetic.
    @property
    def left_label_x(self) -> float:
        return self.plot.left - 6

    @property
    def right_label_x(self) -> float:
        return self.plot.right + 6

    @property
    def time_label_y(self) -> float:
        return self.plot.bottom + 14

    @property
    def time_title_y(self) -> float:
        return self.height - 6


def _period_lines(order: Order, priced: list) -> list:
    """The lines of the order's price that cover instants of a time-of-use period."""
    breakdown: Breakdown | None = None
    if order.price_lines is not None:
        breakdown = order_price_stored(order=order)
    elif order.status != OrderStatus.SETTLED:
        try:
            breakdown = order_price_breakdown(order=order, samples=priced)
        except ValueError:  # a session the engine refuses to price: the curve stands without its periods
            breakdown = None
    if breakdown is None:
        return []
    return [line for line in breakdown.lines if line.kind in (LineKind.PERIOD, LineKind.FREE)
            and line.interval in INTERVAL_FILLS and line.start is not None and line.end is not None]


def _time_ticks(start: datetime, end: datetime, x) -> tuple[Tick, ...]:
    """Ticks at whole multiples of a step in local time (from local midnight), labelled HH:MM, with the date
    for a curve that runs over more than one day."""
    minutes = (end - start).total_seconds() / 60
    # Beyond the steps (a garbled device clock can stretch a curve over years): whole days, still few ticks.
    step = next((s for s in TIME_STEPS if minutes / s <= TIME_TICKS), 1440 * -(-int(minutes) // (1440 * TIME_TICKS)))
    local_start = timezone.localtime(start)
    midnight = local_start.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (local_start - midnight).total_seconds() / 60
    tick = midnight + timedelta(minutes=-(-elapsed // step) * step)
    shape = "%H:%M" if timezone.localtime(end).date() == local_start.date() else "%m-%d %H:%M"
    ticks = []
    while tick <= end:
        ticks.append(Tick(position=x(tick), label=timezone.localtime(tick).strftime(shape)))
        tick += timedelta(minutes=step)
    return tuple(ticks)


def order_curve(*, order: Order) -> Curve | None:
    """The order's curve, or None when it has no samples."""
    samples = list(order_samples(order=order).order_by("device_time", "id")
                   .values_list("device_time", "power_w", "energy_wh", "left_out", named=True))
    if not samples:
        return None
    priced = [s for s in samples if not s.left_out]
    left_out = [s for s in samples if s.left_out]
    periods = _period_lines(order, priced)

    instants = [samples[0].device_time, samples[-1].device_time,
                *(t for t in (order.started_at, order.ended_at) if t is not None),
                *(line.start for line in periods), *(line.end for line in periods)]
    start, end = min(instants), max(instants)
    if end <= start:
        end = start + timedelta(minutes=1)
    span = (end - start).total_seconds()

    def x(at: datetime) -> float:
        return round(PLOT.left + PLOT.width * (at - start).total_seconds() / span, 1)

    power_top, power_ticks = value_ticks(max((s.power_w for s in priced), default=0), places=3, plot=PLOT)
    energy_top, energy_ticks = value_ticks(max([order.energy_wh, *(s.energy_wh for s in priced)]), places=3,
                                           plot=PLOT)

    def y(value: int, top: int) -> float:
        # A left-out reading may lie far above the others: it is pinned to the top, its tooltip says its value.
        return round(PLOT.bottom - PLOT.height * min(value, top) / top, 1)

    shown = thinned(priced)
    reasons = dict(SampleExclusion.choices)
    markers = tuple(
        Marker(x=x(s.device_time), y=y(s.energy_wh, energy_top), title=gettext(
            "%(at)s: %(energy)s kWh, %(power)s kW, left out of pricing (%(reason)s)") % {
            "at": _local(s.device_time), "energy": format_wh(s.energy_wh), "power": format_scaled(s.power_w, 3),
            "reason": reasons.get(s.left_out, s.left_out)})
        for s in thinned(left_out)
    )
    labels = dict(TimeInterval.choices)
    shades = tuple(
        Shade(x=x(line.start), width=round(x(line.end) - x(line.start), 1), fill=INTERVAL_FILLS[line.interval],
              interval=line.interval, title=_period_title(line, labels[line.interval]))
        for line in periods
    )
    present = {line.interval for line in periods}
    caption = ngettext("%(count)d sample", "%(count)d samples", len(samples)) % {"count": len(samples)}
    if len(shown) < len(priced):
        caption = gettext("%(all)s, %(shown)d of them evenly spaced") % {"all": caption, "shown": len(shown)}
    return Curve(
        width=WIDTH,
        height=HEIGHT,
        plot=PLOT,
        power_points=" ".join(f"{x(s.device_time)},{y(s.power_w, power_top)}" for s in shown),
        energy_points=" ".join(f"{x(s.device_time)},{y(s.energy_wh, energy_top)}" for s in shown),
        points=len(shown),
        markers=markers,
        shades=shades,
        power_ticks=power_ticks,
        energy_ticks=energy_ticks,
        time_ticks=_time_ticks(start, end, x),
        legend=tuple(LegendEntry(label=label, fill=INTERVAL_FILLS[value]) for value, label in TimeInterval.choices
                     if value in present),
        caption=caption,
    )


def _local(at: datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S")


def _period_title(line, label) -> str:
    words = gettext("%(interval)s %(start)s – %(end)s: %(energy)s kWh") % {
        "interval": label, "start": _local(line.start), "end": _local(line.end), "energy": format_wh(line.energy_wh),
    }
    if line.kind == LineKind.FREE:
        return gettext("%(line)s, free charging time") % {"line": words}
    return gettext("%(line)s, %(yuan)s yuan") % {"line": words, "yuan": format_fen(line.total_fen)}


@admin.display(description=_("power and energy"))
def order_curve_field(model_admin, obj):
    """The curve as a read-only field of OrderAdmin (`curve = order_curve_field`)."""
    if obj is None or obj.pk is None:
        return model_admin.get_empty_value_display()
    curve = order_curve(order=obj)
    if curve is None:
        return model_admin.get_empty_value_display()
    return render_to_string("admin/orders/order/curve.html", {"curve": curve})
