"""The order's curve on its admin page (orders/admin/curve.py): power and energy over the time-of-use
periods the order was priced in, its samples thinned evenly, those left out of pricing marked apart."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from backoffice.days import BEIJING
from orders.admin.curve import MAX_POINTS, PLOT, order_curve, thinned
from orders.models import OrderSample, OrderStatus, SampleExclusion
from tariffs.models import TimeInterval
from tariffs.pricing import Period, Tariff, price_session
from tariffs.units import format_fen, format_wh
from tests.orders.factories import OrderFactory
from tests.tariffs.factories import TariffVersionFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 3, 9, 0, tzinfo=BEIJING)
END = START + dt.timedelta(hours=2)
# Valley before 10:00, peak from 10:00 to 20:00, plain after.
TARIFF = Tariff(kind="ev", periods=(Period(0, 600, "valley", 3000, 4000), Period(600, 1200, "peak", 9000, 4000),
                                    Period(1200, 1440, "plain", 6500, 4000)))


def settled_order(samples=120, left_out=(), stored=True, status=OrderStatus.SETTLED):
    """An order of two hours from 09:00 with `samples` readings spread over it at 7 kW, priced by TARIFF; the
    readings at the indexes `left_out` contradict the others and are left out of pricing."""
    step = (END - START) / (samples + 1)
    readings = [(START + step * (i + 1), 7000 + i % 7, 117 * (i + 1)) for i in range(samples)]
    energy = 117 * samples
    breakdown = price_session(TARIFF, readings=[(START, 0), *((at, wh) for at, _w, wh in readings), (END, energy)])
    order = OrderFactory(status=status, started_at=START, ended_at=END, energy_wh=energy,
                         tariff_version=TariffVersionFactory(content=TARIFF.to_content()),
                         price_lines=breakdown.to_content() if stored else None,
                         electricity_fee_fen=breakdown.electricity_fen, service_fee_fen=breakdown.service_fen,
                         total_fee_fen=breakdown.total_fen)
    OrderSample.objects.bulk_create(
        OrderSample(order=order, device_time=at, power_w=power, energy_wh=wh * (5 if i in left_out else 1),
                    left_out=SampleExclusion.TOO_FAST if i in left_out else "")
        for i, (at, power, wh) in enumerate(readings)
    )
    return order, breakdown


def point_xs(points):
    return [float(pair.split(",")[0]) for pair in points.split()]


def test_thinning_keeps_at_most_the_limit_evenly_with_the_first_and_the_last():
    kept = thinned(list(range(1234)), 500)

    assert len(kept) == 500 and kept[0] == 0 and kept[-1] == 1233
    gaps = {b - a for a, b in zip(kept, kept[1:], strict=False)}
    assert gaps <= {2, 3}
    assert thinned([1, 2, 3], 500) == [1, 2, 3]


def test_the_curve_joins_the_priced_samples_marks_the_left_out_and_shades_each_period_line():
    # Given a settled order priced over the valley (09:00–10:00) and the peak (10:00–11:00), two readings left out
    order, breakdown = settled_order(left_out=(10, 80))

    # When its curve is drawn, reading the samples in one query (the price lines are the stored ones)
    with CaptureQueriesContext(connection) as queries:
        curve = order_curve(order=order)

    # Then both lines join the 118 priced samples, and the 2 others are markers
    assert len(queries) == 1
    assert curve.points == 118
    assert len(curve.power_points.split()) == len(curve.energy_points.split()) == 118
    assert len(curve.markers) == 2
    # each titled with why it was left out, in the reader's words
    assert all(str(SampleExclusion.TOO_FAST.label) in marker.title for marker in curve.markers)
    # each period line is one shade over exactly its instants, titled with its exact energy and fee
    lines = [line for line in breakdown.lines if line.kind == "period"]
    assert [shade.interval for shade in curve.shades] == [line.interval for line in lines] == ["valley", "peak"]
    assert curve.shades[0].x == PLOT.left
    assert curve.shades[0].x + curve.shades[0].width == pytest.approx(PLOT.left + PLOT.width / 2, abs=0.2)
    assert curve.shades[1].x + curve.shades[1].width == pytest.approx(PLOT.right, abs=0.2)
    for shade, line in zip(curve.shades, lines, strict=True):
        assert format_wh(line.energy_wh) in shade.title and format_fen(line.total_fen) in shade.title
    assert [entry.label for entry in curve.legend] == [TimeInterval.PEAK.label, TimeInterval.VALLEY.label]
    # the axes: power up to 7.006 kW and energy up to its final 14.040 kWh, each on whole steps
    assert [tick.label for tick in curve.power_ticks] == ["0", "2", "4", "6", "8"]
    assert [tick.label for tick in curve.energy_ticks] == ["0", "5", "10", "15"]
    assert [tick.label for tick in curve.time_ticks][0] == "09:00" and curve.time_ticks[-1].label == "11:00"


def test_a_long_session_is_thinned_to_the_limit_with_its_first_and_last_samples():
    order, _breakdown = settled_order(samples=1200)

    curve = order_curve(order=order)

    first, last = OrderSample.objects.filter(order=order).order_by("device_time")[::1199]
    xs = point_xs(curve.power_points)
    assert curve.points == len(xs) == MAX_POINTS
    span = (END - START).total_seconds()
    assert xs[0] == pytest.approx(PLOT.left + PLOT.width * (first.device_time - START).total_seconds() / span, abs=0.1)
    assert xs[-1] == pytest.approx(PLOT.left + PLOT.width * (last.device_time - START).total_seconds() / span, abs=0.1)
    assert xs == sorted(xs)


def test_a_session_not_settled_yet_is_shaded_by_its_price_so_far():
    order, _breakdown = settled_order(stored=False, status=OrderStatus.FINISHED)

    curve = order_curve(order=order)

    assert [shade.interval for shade in curve.shades] == ["valley", "peak"]


def test_an_order_without_samples_has_no_curve(client, superuser):
    order = OrderFactory()
    client.force_login(superuser)

    content = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()

    assert order_curve(order=order) is None
    assert 'id="order-curve"' not in content


def test_the_order_page_shows_the_curve_as_inline_svg(client, superuser):
    order, _breakdown = settled_order(left_out=(3,))
    client.force_login(superuser)

    response = client.get(reverse("admin:orders_order_change", args=[order.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    svg = re.search(r'<figure class="order-curve" id="order-curve".*?</figure>', content, re.S).group(0)
    assert len(re.findall(r'<polyline class="power" points="([^"]+)"', svg)[0].split()) == 119
    assert len(re.findall(r'<polyline class="energy" points="([^"]+)"', svg)[0].split()) == 119
    assert svg.count('<circle class="left-out-point"') == 1
    assert svg.count('<rect class="period period-valley"') == 1 and svg.count('<rect class="period period-peak"') == 1
    with translation.override("zh-hans"):  # the admin's language; the legend names each class shaded
        legend = [str(TimeInterval.PEAK.label), str(TimeInterval.VALLEY.label)]
    assert re.findall(r'<span class="legend-period">.*?</svg> ([^<]+)</span>', svg) == legend
    assert "<script" not in svg
